import { ErrorCode, ErrorDomain } from './error-codes';
import { VirError } from './vir-error';

/** libvirt's typed parameter types (VIR_TYPED_PARAM_*). */
export enum TypedParamType {
  INT = 1,
  UINT = 2,
  LLONG = 3,
  ULLONG = 4,
  DOUBLE = 5,
  BOOLEAN = 6,
  STRING = 7,
}

/** Names libvirt prints for each type in its messages ("invalid type 'string' ..."). */
export const TYPED_PARAM_TYPE_NAMES: Record<TypedParamType, string> = {
  [TypedParamType.INT]: 'int',
  [TypedParamType.UINT]: 'uint',
  [TypedParamType.LLONG]: 'llong',
  [TypedParamType.ULLONG]: 'ullong',
  [TypedParamType.DOUBLE]: 'double',
  [TypedParamType.BOOLEAN]: 'boolean',
  [TypedParamType.STRING]: 'string',
};

/** Type name -> type, for schemas that name types the way libvirt prints them. */
export function typedParamTypeFromName(name: string): TypedParamType | undefined {
  const hit = Object.entries(TYPED_PARAM_TYPE_NAMES).find(([, n]) => n === name);
  return hit ? (Number(hit[0]) as TypedParamType) : undefined;
}

/** A value a typed parameter may hold: 64-bit integers are bigint so no precision is lost. */
export type TypedParamValue = number | bigint | boolean | string;

/** One libvirt typed parameter. */
export interface TypedParameter {
  field: string;
  type: TypedParamType;
  value: TypedParamValue;
}

/** What callers may pass: libvirt's explicit list, or a plain object whose types come from the schema. */
export type TypedParamsInput = readonly TypedParameter[] | Readonly<Record<string, TypedParamValue>>;

/** VIR_TYPED_PARAM_FIELD_LENGTH: a field name's bytes including its NUL. */
export const TYPED_PARAM_FIELD_LENGTH = 80;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;
const LLONG_MIN = -(2n ** 63n);
const LLONG_MAX = 2n ** 63n - 1n;
const ULLONG_MAX = 2n ** 64n - 1n;

/**
 * Turns either input form into libvirt's list. For the object form a field's type comes from
 * `typeOf(field)` (the API's schema); fields the schema does not know get the type their JS value
 * suggests, so that validation can then reject them the way libvirt would.
 */
export function toTypedParamList(
  input: TypedParamsInput | null | undefined,
  typeOf: (field: string) => TypedParamType | undefined = () => undefined,
): TypedParameter[] {
  if (input === null || input === undefined) return [];
  if (Array.isArray(input)) {
    return (input as readonly unknown[]).map((p, i) => checkListEntry(p, i));
  }
  if (typeof input !== 'object') {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, 'typed parameters must be a list or an object');
  }
  return Object.entries(input as Record<string, TypedParamValue>).map(([field, value]) => {
    const declared = typeOf(field);
    // A value whose JS kind cannot hold the declared type keeps the type it really has, so
    // validation reports "invalid type 'int' ... expected 'string'" as libvirt would.
    const type = declared !== undefined && kindFits(declared, value) ? declared : inferType(value);
    return { field, type, value: normalizeValue(field, type, value) };
  });
}

/** Whether a JS value can be a typed parameter of `type`. */
function kindFits(type: TypedParamType, value: unknown): boolean {
  switch (type) {
    case TypedParamType.STRING:
      return typeof value === 'string';
    case TypedParamType.BOOLEAN:
      return typeof value === 'boolean';
    case TypedParamType.DOUBLE:
      return typeof value === 'number';
    default:
      return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
  }
}

function checkListEntry(p: unknown, index: number): TypedParameter {
  if (!p || typeof p !== 'object') {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `typed parameter ${index} is not an object`);
  }
  const { field, type, value } = p as Record<string, unknown>;
  if (typeof field !== 'string') {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `typed parameter ${index} has no field name`);
  }
  if (typeof type !== 'number' || !(type in TYPED_PARAM_TYPE_NAMES)) {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `invalid type '${String(type)}' for parameter '${field}'`);
  }
  checkValueMatchesType(field, type as TypedParamType, value);
  return { field, type: type as TypedParamType, value: value as TypedParamValue };
}

function inferType(value: unknown): TypedParamType {
  switch (typeof value) {
    case 'string':
      return TypedParamType.STRING;
    case 'boolean':
      return TypedParamType.BOOLEAN;
    case 'bigint':
      return value < 0n ? TypedParamType.LLONG : TypedParamType.ULLONG;
    case 'number':
      if (!Number.isInteger(value)) return TypedParamType.DOUBLE;
      return value >= INT32_MIN && value <= INT32_MAX ? TypedParamType.INT : TypedParamType.LLONG;
    default:
      return TypedParamType.STRING;
  }
}

/**
 * Brings an object-form value to the representation of its type (64-bit types as bigint, 32-bit
 * ones as number) and checks it fits; values of another JS kind are refused here.
 */
function normalizeValue(field: string, type: TypedParamType, value: unknown): TypedParamValue {
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) {
    if (type === TypedParamType.LLONG || type === TypedParamType.ULLONG) {
      checkRange(field, type, BigInt(value));
      return BigInt(value);
    }
    if (type === TypedParamType.INT || type === TypedParamType.UINT) {
      checkRange(field, type, value);
      return Number(value);
    }
  }
  checkValueMatchesType(field, type, value);
  return value as TypedParamValue;
}

/** Checks that a list entry's value is what its declared type can hold. */
export function checkValueMatchesType(field: string, type: TypedParamType, value: unknown): void {
  const bad = (): never => {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      ErrorDomain.NONE,
      `value of parameter '${field}' does not fit type '${TYPED_PARAM_TYPE_NAMES[type]}'`,
    );
  };
  switch (type) {
    case TypedParamType.INT:
    case TypedParamType.UINT:
      if (typeof value !== 'number' || !Number.isInteger(value)) bad();
      break;
    case TypedParamType.LLONG:
    case TypedParamType.ULLONG:
      if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isSafeInteger(value))) bad();
      break;
    case TypedParamType.DOUBLE:
      if (typeof value !== 'number') bad();
      break;
    case TypedParamType.BOOLEAN:
      if (typeof value !== 'boolean') bad();
      break;
    case TypedParamType.STRING:
      if (typeof value !== 'string') bad();
      break;
  }
  checkRange(field, type, value as TypedParamValue);
}

function checkRange(field: string, type: TypedParamType, value: TypedParamValue): void {
  const limits: Partial<Record<TypedParamType, [bigint, bigint]>> = {
    [TypedParamType.INT]: [BigInt(INT32_MIN), BigInt(INT32_MAX)],
    [TypedParamType.UINT]: [0n, BigInt(UINT32_MAX)],
    [TypedParamType.LLONG]: [LLONG_MIN, LLONG_MAX],
    [TypedParamType.ULLONG]: [0n, ULLONG_MAX],
  };
  const lim = limits[type];
  if (!lim || (typeof value !== 'number' && typeof value !== 'bigint')) return;
  if (typeof value === 'number' && !Number.isInteger(value)) return;
  const v = BigInt(value);
  if (v < lim[0] || v > lim[1]) {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      ErrorDomain.NONE,
      `value ${v} of parameter '${field}' is out of range for type '${TYPED_PARAM_TYPE_NAMES[type]}'`,
    );
  }
}

/** Looks a field up in a list (first occurrence, as virTypedParamsGet* do). */
export function getTypedParam(params: readonly TypedParameter[], field: string): TypedParameter | undefined {
  return params.find((p) => p.field === field);
}

/** Reads a string field, or undefined. */
export function getStringParam(params: readonly TypedParameter[], field: string): string | undefined {
  const p = getTypedParam(params, field);
  return p && typeof p.value === 'string' ? p.value : undefined;
}

/** Reads an integer field as a number (64-bit values must fit in a double's integer range). */
export function getIntParam(params: readonly TypedParameter[], field: string): number | undefined {
  const p = getTypedParam(params, field);
  if (!p) return undefined;
  return typeof p.value === 'bigint' ? Number(p.value) : typeof p.value === 'number' ? p.value : undefined;
}

/** The list as a plain object (first occurrence wins); handy for logging and introspection. */
export function typedParamsToObject(params: readonly TypedParameter[]): Record<string, TypedParamValue> {
  const out: Record<string, TypedParamValue> = {};
  for (const p of params) if (!(p.field in out)) out[p.field] = p.value;
  return out;
}

/** Builds a list entry with the value checked against its type. */
export function typedParam(field: string, type: TypedParamType, value: TypedParamValue): TypedParameter {
  checkValueMatchesType(field, type, value);
  return { field, type, value };
}
