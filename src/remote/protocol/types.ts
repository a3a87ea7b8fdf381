/**
 * The shared structures of remote_protocol.x, described as XDR data, with their mapping onto
 * tsvirt's own types: remote_nonnull_domain <-> DomainRef, remote_typed_param <-> TypedParameter,
 * remote_error <-> VirError.
 */
import { ErrorLevel } from '../../util/error-codes';
import { TypedParamType, type TypedParameter, type TypedParamValue } from '../../util/typed-params';
import { VirError } from '../../util/vir-error';
import { xdrError } from '../xdr/errors';
import { xdr, type XdrType, type XdrValue } from '../xdr';
import { REMOTE_STRING_MAX, VIR_UUID_BUFLEN } from './constants';
import { bytesToUuid, uuidToBytes } from './uuid';

/** remote_nonnull_string. */
export const nonnullString = xdr.string(REMOTE_STRING_MAX);
/** remote_string: optional nonnull string, `null` when absent. */
export const remoteString = xdr.optional(nonnullString);
/** remote_uuid: 16 raw bytes on the wire, the canonical lower-case string in JS. */
export const remoteUuid: XdrType<string> = xdr.transform(xdr.fixedOpaque(VIR_UUID_BUFLEN), bytesToUuid, uuidToBytes, 'remote_uuid');

/**
 * remote_nonnull_domain. Structurally the driver layer's DomainRef (id -1 when inactive), declared
 * here so the wire layer depends on nothing above it.
 */
export interface WireDomain {
  readonly name: string;
  readonly uuid: string;
  readonly id: number;
}

/** remote_nonnull_domain on the wire. */
export const nonnullDomain: XdrType<WireDomain> = xdr.struct(
  { name: nonnullString, uuid: remoteUuid, id: xdr.int },
  'remote_nonnull_domain',
);
/** remote_domain: optional domain. */
export const remoteDomain = xdr.optional(nonnullDomain);

/**
 * `unsigned hyper` for counters the driver layer keeps as JS numbers (sizes, times, versions):
 * exact up to 2^53, far beyond any memory size or job counter.
 */
export const uhyperNumber: XdrType<number> = xdr.transform(xdr.uhyper, Number, (n: number) => BigInt(Math.max(0, Math.trunc(n))), 'unsigned hyper');
/** An `int` libvirt uses as a boolean (is_active, result, ...). */
export const intBool: XdrType<boolean> = xdr.transform(xdr.int, (v: number) => v !== 0, (b: boolean) => (b ? 1 : 0), 'int');

/** remote_nonnull_network. */
export const nonnullNetwork = xdr.struct({ name: nonnullString, uuid: remoteUuid }, 'remote_nonnull_network');
/** remote_network: optional network. */
export const remoteNetwork = xdr.optional(nonnullNetwork);

/** remote_nonnull_storage_pool. */
export const nonnullStoragePool = xdr.struct({ name: nonnullString, uuid: remoteUuid }, 'remote_nonnull_storage_pool');

/** remote_typed_param_value: a union on the VIR_TYPED_PARAM_* type. */
export const typedParamValue = xdr.union(
  {
    [TypedParamType.INT]: xdr.int,
    [TypedParamType.UINT]: xdr.uint,
    [TypedParamType.LLONG]: xdr.hyper,
    [TypedParamType.ULLONG]: xdr.uhyper,
    [TypedParamType.DOUBLE]: xdr.double,
    [TypedParamType.BOOLEAN]: xdr.int,
    [TypedParamType.STRING]: nonnullString,
  },
  'remote_typed_param_value',
);

const typedParamWire = xdr.struct({ field: nonnullString, value: typedParamValue }, 'remote_typed_param');
type TypedParamWire = XdrValue<typeof typedParamWire>;

function typedParamFromWire(w: TypedParamWire): TypedParameter {
  const type = w.value.type as TypedParamType;
  const value: TypedParamValue = type === TypedParamType.BOOLEAN ? w.value.value !== 0 : (w.value.value as TypedParamValue);
  return { field: w.field, type, value };
}

/** What each typed parameter type accepts on encode; 64-bit types also take safe-integer numbers. */
function typedParamToWire(p: TypedParameter): TypedParamWire {
  if (p === null || typeof p !== 'object') throw xdrError('XDR: typed parameter is not an object');
  const bad = (): never => {
    throw xdrError(`XDR: value ${String(p.value)} of typed parameter '${p.field}' does not match its type ${p.type}`);
  };
  let value: number | bigint | string;
  switch (p.type) {
    case TypedParamType.INT:
    case TypedParamType.UINT:
    case TypedParamType.DOUBLE:
      if (typeof p.value !== 'number') bad();
      value = p.value as number;
      break;
    case TypedParamType.LLONG:
    case TypedParamType.ULLONG:
      if (typeof p.value !== 'bigint' && typeof p.value !== 'number') bad();
      value = typeof p.value === 'number' && Number.isSafeInteger(p.value) ? BigInt(p.value) : (p.value as bigint);
      break;
    case TypedParamType.BOOLEAN:
      if (typeof p.value !== 'boolean') bad();
      value = p.value ? 1 : 0;
      break;
    case TypedParamType.STRING:
      if (typeof p.value !== 'string') bad();
      value = p.value as string;
      break;
    default:
      throw xdrError(`XDR: typed parameter '${p.field}' has unknown type ${String(p.type)}`);
  }
  return { field: p.field, value: { type: p.type, value } as TypedParamWire['value'] };
}

/** remote_typed_param, as tsvirt's TypedParameter (BOOLEAN travels as int 0/1). */
export const typedParam: XdrType<TypedParameter> = xdr.transform(typedParamWire, typedParamFromWire, typedParamToWire, 'remote_typed_param');

/** `remote_typed_param params<max>`. */
export function typedParams(max: number): XdrType<TypedParameter[]> {
  return xdr.array(typedParam, max);
}

/** remote_error exactly as on the wire. */
export const remoteErrorWire = xdr.struct(
  {
    code: xdr.int,
    domain: xdr.int,
    message: remoteString,
    level: xdr.int,
    dom: remoteDomain,
    str1: remoteString,
    str2: remoteString,
    str3: remoteString,
    int1: xdr.int,
    int2: xdr.int,
    net: remoteNetwork,
  },
  'remote_error',
);
/** The wire form of remote_error. */
export type RemoteErrorWire = XdrValue<typeof remoteErrorWire>;

/** What libvirt's client shows when a peer's error carries no message. */
export const NO_ERROR_MESSAGE = 'No error message provided';

/** remote_error -> VirError, keeping every field a VirError has. */
export function remoteErrorToVirError(w: RemoteErrorWire): VirError {
  return new VirError({
    code: w.code,
    domain: w.domain,
    message: w.message ?? NO_ERROR_MESSAGE,
    level: w.level,
    str1: w.str1,
    str2: w.str2,
    str3: w.str3,
    int1: w.int1,
    int2: w.int2,
  });
}

/** Appended to a string cut to fit a wire limit, so the reader sees it was cut. */
export const TRUNCATION_MARK = '...';

/**
 * `s` cut to at most `max` UTF-8 bytes (on a character boundary, ending in TRUNCATION_MARK when
 * cut). Errors quote what clients sent, and a client may send a string right at the 4 MiB limit:
 * the error that quotes it must still be encodable, so its strings are cut rather than refused.
 */
export function fitString(s: string, max = REMOTE_STRING_MAX): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no byte count.
  if (s.length * 3 <= max || Buffer.byteLength(s, 'utf8') <= max) return s;
  const bytes = Buffer.from(s, 'utf8');
  let end = max - TRUNCATION_MARK.length;
  // Step back over UTF-8 continuation bytes so no character is split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + TRUNCATION_MARK;
}

const fitOptional = (s: string | null | undefined): string | null => (typeof s === 'string' ? fitString(s) : null);

/**
 * VirError (or anything thrown, wrapped as libvirt would) -> remote_error; `dom` is optional
 * context. Every string is cut to REMOTE_STRING_MAX, so the result always encodes: even with a
 * domain name at the limit, five 4 MiB strings stay well under the 32 MiB message limit.
 */
export function virErrorToRemoteError(err: unknown, dom: WireDomain | null = null): RemoteErrorWire {
  const f = VirError.from(err).toFields();
  const int = (n: unknown): number => (Number.isInteger(n) && (n as number) >= -0x80000000 && (n as number) <= 0x7fffffff ? (n as number) : -1);
  return {
    code: int(f.code),
    domain: int(f.domain),
    message: fitOptional(typeof f.message === 'string' ? f.message : String(f.message)),
    level: Number.isInteger(f.level) ? int(f.level) : ErrorLevel.ERROR,
    dom,
    str1: fitOptional(f.str1),
    str2: fitOptional(f.str2),
    str3: fitOptional(f.str3),
    int1: int(f.int1),
    int2: int(f.int2),
    net: null,
  };
}

/** remote_error as a VirError in JS: the payload of every status ERROR reply. */
export const remoteError: XdrType<VirError> = xdr.transform(
  remoteErrorWire,
  remoteErrorToVirError,
  (e: VirError) => virErrorToRemoteError(e),
  'remote_error',
);
