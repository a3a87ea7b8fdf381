/**
 * The one entry pattern every public call follows, as libvirt's public functions do:
 * check the handle, refuse mutations on read-only connections, reject exclusive flag
 * combinations, validate and absolutize arguments, then dispatch the driver slot — or raise
 * NO_SUPPORT when the driver left the slot empty. Failures of any kind leave as VirError.
 */
import type { HypervisorDriver, HypervisorSlot } from '../drivers/driver-table';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { hexFlags, moduleLogger } from '../util/logger';
import { VirError } from '../util/vir-error';

const log = moduleLogger('public');

/** What the entry pattern needs to know about a connection. */
export interface ConnectionCore {
  readonly driver: HypervisorDriver;
  readonly readOnly: boolean;
  readonly uri: string;
  closed: boolean;
}

/** A pair of flags that may not be set together, with libvirt's names for the message. */
export interface ExclusiveFlags {
  readonly a: number;
  readonly aName: string;
  readonly b: number;
  readonly bName: string;
}

/** How one public function is checked before dispatch. */
export interface EntrySpec<P> {
  /** libvirt's name of the public function, used in messages and logs. */
  readonly fn: string;
  /** True for calls that change state: OPERATION_DENIED on read-only connections. */
  readonly mutating?: boolean;
  readonly flags?: number;
  readonly exclusive?: readonly ExclusiveFlags[];
  /** For domain calls: the handle's own validity (its connection still open). */
  readonly domainValid?: () => boolean;
  /** Argument checks and normalization (schema, absolute paths); runs before the slot check. */
  readonly prepare?: () => P;
  /** The error domain of NO_SUPPORT (the API's module in libvirt: NONE, STORAGE, ...). */
  readonly errorDomain?: ErrorDomain;
  /** Extra fields for the debug log line. */
  readonly logFields?: Record<string, unknown>;
}

/**
 * Runs one public call through the entry pattern and dispatches `slot` on the connection's
 * driver table. `call` receives the slot bound to its driver and the prepared arguments.
 */
export async function dispatch<S extends HypervisorSlot, P, R>(
  core: ConnectionCore,
  spec: EntrySpec<P>,
  slot: S,
  call: (impl: NonNullable<HypervisorDriver[S]>, prepared: P) => Promise<R>,
): Promise<R> {
  const flags = spec.flags ?? 0;
  // Checked first: building the log record costs more than many calls themselves.
  if (log.isLevelEnabled('debug')) log.debug({ fn: spec.fn, flags: hexFlags(flags), uri: core.uri, ...spec.logFields }, 'public call');
  // A domain handle is checked first: its connection being gone makes the handle invalid, as
  // libvirt's virCheckDomainReturn reports it.
  if (spec.domainValid && !spec.domainValid()) {
    throw VirError.report(ErrorCode.INVALID_DOMAIN, ErrorDomain.DOM, spec.fn);
  }
  if (core.closed) {
    throw VirError.report(ErrorCode.INVALID_CONN, ErrorDomain.NONE, spec.fn);
  }
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `flags in ${spec.fn} must be an unsigned 32-bit integer`);
  }
  if (spec.mutating && core.readOnly) {
    throw VirError.report(ErrorCode.OPERATION_DENIED, ErrorDomain.NONE, `read only access prevents ${spec.fn}`);
  }
  for (const ex of spec.exclusive ?? []) {
    if (flags & ex.a && flags & ex.b) {
      throw VirError.plain(
        ErrorCode.INVALID_ARG,
        ErrorDomain.NONE,
        `Flags '${ex.aName}' and '${ex.bName}' are mutually exclusive`,
      );
    }
  }
  let prepared: P;
  try {
    prepared = spec.prepare ? spec.prepare() : (undefined as P);
  } catch (err) {
    throw VirError.from(err);
  }
  const impl = core.driver[slot];
  if (typeof impl !== 'function') {
    throw VirError.report(ErrorCode.NO_SUPPORT, spec.errorDomain ?? ErrorDomain.NONE, spec.fn);
  }
  try {
    return await call((impl as (...a: unknown[]) => unknown).bind(core.driver) as NonNullable<HypervisorDriver[S]>, prepared);
  } catch (err) {
    const ve = VirError.from(err);
    log.debug({ fn: spec.fn, code: ve.code, domain: ve.domain, err: ve.message }, 'public call failed');
    throw ve;
  }
}

/** Checks a string argument the way libvirt's virCheckNonNullArgGoto does. */
export function requireString(value: unknown, name: string, fn: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `${name} in ${fn} must not be NULL`);
  }
  return value;
}
