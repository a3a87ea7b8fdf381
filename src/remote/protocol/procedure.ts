/**
 * One entry of the procedure table: a procedure number with the XDR description of its
 * arguments and reply, so client and daemon encode and decode every call generically.
 */
import { decodeXdr, encodeXdr, xdr, type XdrType } from '../xdr';

/**
 * `call`: a client request answered by a REPLY. `message`: an asynchronous MESSAGE the daemon
 * sends (events), whose payload is described by `args`.
 */
export type ProcedureKind = 'call' | 'message';

/**
 * What a read-only connection may do with a procedure, as libvirt's public API decides it on the
 * daemon side. `deny`: refused outright with OPERATION_DENIED "read only access prevents FN"
 * (libvirt's virCheckReadOnlyGoto); `deny-flags`: refused only when the call's `flags` carry a
 * bit of `mask` (virDomainGetXMLDesc with VIR_DOMAIN_XML_SECURE). Absent: allowed.
 */
export type ReadOnlyPolicy =
  | { readonly kind: 'deny'; readonly fn: string }
  | { readonly kind: 'deny-flags'; readonly mask: number; readonly message: string };

/** A remote_procedure entry. */
export interface ProcedureDef<A = any, R = any, N extends string = string> {
  /** REMOTE_PROC_* number; append-only upstream, never renumbered. */
  readonly number: number;
  /** REMOTE_PROC_* name without the prefix, e.g. `DOMAIN_SAVE_PARAMS`. */
  readonly name: N;
  /** remote_*_args (void when the call has none). */
  readonly args: XdrType<A>;
  /** remote_*_ret (void when the reply body is empty). */
  readonly ret: XdrType<R>;
  readonly kind: ProcedureKind;
  /** Read-only policy; undefined means the call is allowed on a read-only connection. */
  readonly readOnly?: ReadOnlyPolicy;
}

/** The argument value type of a procedure. */
export type ProcArgs<P> = P extends ProcedureDef<infer A, any, any> ? A : never;
/** The reply value type of a procedure. */
export type ProcRet<P> = P extends ProcedureDef<any, infer R, any> ? R : never;

/** Optional parts of a declaration. */
export interface ProcedureOptions {
  kind?: ProcedureKind;
  readOnly?: ReadOnlyPolicy;
}

/** Declares one procedure; omitted args/ret mean `void`. */
export function defineProcedure<N extends string, A = void, R = void>(
  number: number,
  name: N,
  args?: XdrType<A>,
  ret?: XdrType<R>,
  options: ProcedureOptions = {},
): ProcedureDef<A, R, N> {
  return {
    number,
    name,
    args: (args ?? xdr.xvoid) as XdrType<A>,
    ret: (ret ?? xdr.xvoid) as XdrType<R>,
    kind: options.kind ?? 'call',
    ...(options.readOnly ? { readOnly: options.readOnly } : {}),
  };
}

/** A mutating procedure: refused on read-only connections, naming libvirt's public function `fn`. */
export function mutating(fn: string): ProcedureOptions {
  return { readOnly: { kind: 'deny', fn } };
}

/** Encodes a call's arguments into a message body. */
export function encodeArgs<A>(proc: ProcedureDef<A, any, any>, args: A): Buffer {
  return encodeXdr(proc.args, args);
}

/** Decodes a call's arguments from a message body (trailing bytes are malformed). */
export function decodeArgs<A>(proc: ProcedureDef<A, any, any>, body: Buffer): A {
  return decodeXdr(proc.args, body);
}

/** Encodes a reply body. */
export function encodeRet<R>(proc: ProcedureDef<any, R, any>, ret: R): Buffer {
  return encodeXdr(proc.ret, ret);
}

/** Decodes a reply body (trailing bytes are malformed). */
export function decodeRet<R>(proc: ProcedureDef<any, R, any>, body: Buffer): R {
  return decodeXdr(proc.ret, body);
}
