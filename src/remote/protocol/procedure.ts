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

/** A slot argument: the wire field passed at that position, or a constant the procedure implies. */
export type SlotArg = string | { readonly value: number };

/**
 * How a procedure maps onto the driver table and the public API, so neither side needs code of
 * its own for it: the remote driver's slot `slot` sends the procedure with its arguments placed
 * in the wire fields `args` names, and tsvirtd answers it by calling the public method `api`
 * (`domain.NAME` on the handle of the first argument, or `connect.NAME`) with the same values.
 */
export interface DriverMapping {
  /** The HypervisorDriver slot (checked against the driver table by the remote driver). */
  readonly slot: string;
  /** The slot's arguments in order. */
  readonly args: readonly SlotArg[];
  /** The public method tsvirtd calls (checked against Connect and Domain by the daemon). */
  readonly api: string;
  /** What the slot returns: one field of the reply struct, or '*' for the whole reply. */
  readonly ret?: string;
  /** An older procedure for a slot another procedure now serves: only the daemon answers it. */
  readonly legacy?: boolean;
}

/**
 * libvirt's `@priority: high`: calls that never wait for a domain job, which the daemon runs
 * even while a client's ordinary request slots are taken (domjobinfo overtakes a running save).
 */
export type ProcedurePriority = 'high' | 'low';

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
  readonly priority: ProcedurePriority;
  /** The driver slot and public method; absent for procedures the daemon session serves itself. */
  readonly maps?: DriverMapping;
}

/** The argument value type of a procedure. */
export type ProcArgs<P> = P extends ProcedureDef<infer A, any, any> ? A : never;
/** The reply value type of a procedure. */
export type ProcRet<P> = P extends ProcedureDef<any, infer R, any> ? R : never;

/** Optional parts of a declaration. */
export interface ProcedureOptions {
  kind?: ProcedureKind;
  readOnly?: ReadOnlyPolicy;
  priority?: ProcedurePriority;
  maps?: DriverMapping;
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
    priority: options.priority ?? 'low',
    ...(options.readOnly ? { readOnly: options.readOnly } : {}),
    ...(options.maps ? { maps: options.maps } : {}),
  };
}

/** High priority (libvirt's `@priority: high`). */
export const HIGH: ProcedureOptions = { priority: 'high' };

/**
 * The driver mapping of a procedure: `maps('domainShutdown', 'domain.shutdown', ['dom', 0])`.
 * Numbers in `args` are constants the procedure implies (DOMAIN_SHUTDOWN is shutdown with flags 0).
 */
export function maps(slot: string, api: string, args: ReadonlyArray<string | number>, ret?: string, legacy = false): ProcedureOptions {
  const a = args.map((x) => (typeof x === 'number' ? { value: x } : x));
  return { maps: { slot, api, args: a, ...(ret !== undefined ? { ret } : {}), ...(legacy ? { legacy } : {}) } };
}

/** A legacy procedure's mapping (served by the daemon, never sent by the remote driver). */
export function mapsLegacy(slot: string, api: string, args: ReadonlyArray<string | number>, ret?: string): ProcedureOptions {
  return maps(slot, api, args, ret, true);
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

/** Merges declaration parts: `all(mutating('virDomainCreate'), maps(...))`. */
export function all(...parts: ProcedureOptions[]): ProcedureOptions {
  return Object.assign({}, ...parts) as ProcedureOptions;
}
