/**
 * The shared structures of remote_protocol.x, described as XDR data, with their mapping onto
 * tsvirt's own types: remote_nonnull_domain <-> DomainRef, remote_typed_param <-> TypedParameter,
 * remote_error <-> VirError.
 */
import type { DomainRef } from '../../drivers/types';
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

/** remote_nonnull_domain: maps 1:1 onto the driver layer's DomainRef (id -1 when inactive). */
export const nonnullDomain: XdrType<DomainRef> = xdr.struct(
  { name: nonnullString, uuid: remoteUuid, id: xdr.int },
  'remote_nonnull_domain',
);
/** remote_domain: optional domain. */
export const remoteDomain = xdr.optional(nonnullDomain);

/** remote_nonnull_network. */
export const nonnullNetwork = xdr.struct({ name: nonnullString, uuid: remoteUuid }, 'remote_nonnull_network');
/** remote_network: optional network. */
export const remoteNetwork = xdr.optional(nonnullNetwork);

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

/** VirError (or anything thrown, wrapped as libvirt would) -> remote_error; `dom` is optional context. */
export function virErrorToRemoteError(err: unknown, dom: DomainRef | null = null): RemoteErrorWire {
  const f = VirError.from(err).toFields();
  return {
    code: f.code,
    domain: f.domain,
    message: f.message,
    level: f.level ?? ErrorLevel.ERROR,
    dom,
    str1: f.str1,
    str2: f.str2,
    str3: f.str3,
    int1: f.int1,
    int2: f.int2,
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
