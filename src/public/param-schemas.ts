/**
 * Typed-parameter validation against the JSON Schemas in `schemas/`.
 *
 * The schemas are the single description of each Params API: the public layer validates with
 * them, the daemon and callers can introspect them, and each property names its libvirt type
 * (`x-virt-type`) and the libvirt error its value constraints raise (`x-virt-error`). Checks
 * that JSON Schema cannot express with libvirt's error semantics (unknown field, duplicate,
 * wrong libvirt type) run first, in libvirt's order, then ajv checks the values, with validators
 * ajv generated from the schemas at development time (param-validators.generated.ts; a unit test
 * keeps it in step with the schemas).
 */
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import saveSchema from '../../schemas/domain-save-params.json';
import restoreSchema from '../../schemas/domain-restore-params.json';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import {
  TYPED_PARAM_FIELD_LENGTH,
  TYPED_PARAM_TYPE_NAMES,
  type TypedParameter,
  type TypedParamsInput,
  type TypedParamType,
  toTypedParamList,
  typedParamTypeFromName,
} from '../util/typed-params';

/** The libvirt error a schema attaches to a property or to the whole object. */
interface VirErrorSpec {
  code: ErrorCode;
  /** Detail for the code's template; `%v` is replaced by the offending value. */
  detail: string;
}

/** One property of a params schema, as tsvirt reads it. */
export interface ParamSchemaProperty {
  description?: string;
  type: string;
  'x-virt-type': string;
  'x-virt-path'?: boolean;
  'x-virt-error'?: VirErrorSpec;
  /** Errors for single schema keywords (`maximum`, ...) where they differ from `x-virt-error`. */
  'x-virt-errors'?: Record<string, VirErrorSpec>;
  [k: string]: unknown;
}

/** A params schema (a JSON Schema object with tsvirt's annotations). */
export interface ParamSchema {
  $id: string;
  title: string;
  properties: Record<string, ParamSchemaProperty>;
  required?: string[];
  'x-virt-error'?: VirErrorSpec;
  [k: string]: unknown;
}

/** The schemas by API, exported for introspection (callers, the daemon, documentation). */
export const paramSchemas = {
  'domain-save-params': saveSchema as unknown as ParamSchema,
  'domain-restore-params': restoreSchema as unknown as ParamSchema,
} as const;

/** Names of the APIs that take typed parameters. */
export type ParamApi = keyof typeof paramSchemas;

/** An ajv validator: true when valid, else `errors` says why. */
interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

let validators: Record<ParamApi, Validator> | undefined;
/** Loaded on the first validation: commands that take no typed parameters never load ajv's runtime. */
function validatorFor(api: ParamApi): Validator {
  if (!validators) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const v = require('./param-validators.generated') as { domainSaveParams: Validator; domainRestoreParams: Validator };
    validators = { 'domain-save-params': v.domainSaveParams, 'domain-restore-params': v.domainRestoreParams };
  }
  return validators[api];
}

/** The libvirt type the schema gives a field, or undefined for a field the API does not know. */
export function schemaFieldType(api: ParamApi, field: string): TypedParamType | undefined {
  const prop = Object.prototype.hasOwnProperty.call(paramSchemas[api].properties, field)
    ? paramSchemas[api].properties[field]
    : undefined;
  return prop ? typedParamTypeFromName(prop['x-virt-type']) : undefined;
}

function report(spec: VirErrorSpec, value: unknown): VirError {
  return VirError.report(spec.code, ErrorDomain.DOMAIN, spec.detail.replace('%v', String(value)));
}

/**
 * Validates typed parameters for `api` and returns them as libvirt's list, with path fields
 * made absolute (libvirt's client library does this for Save/Restore; tsvirt also does it for
 * the Params calls so a relative path never lands in a daemon's working directory).
 */
export function validateParams(api: ParamApi, input: TypedParamsInput | null | undefined): TypedParameter[] {
  const schema = paramSchemas[api];
  // Field names are judged before values, as libvirt does: a too-long or unknown name is
  // reported even when its value is also wrong.
  for (const field of fieldNames(input)) {
    if (Buffer.byteLength(field, 'utf8') >= TYPED_PARAM_FIELD_LENGTH) {
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, `Field name '${field}' too long`);
    }
  }
  for (const field of fieldNames(input)) {
    if (!Object.prototype.hasOwnProperty.call(schema.properties, field)) {
      throw VirError.report(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.DOMAIN, `parameter '${field}' not supported`);
    }
  }
  const list = toTypedParamList(input, (f) => schemaFieldType(api, f));
  const seen = new Set<string>();
  for (const p of list) {
    if (seen.has(p.field)) {
      throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `parameter '${p.field}' occurs multiple times`);
    }
    seen.add(p.field);
  }
  for (const p of list) {
    const expected = schemaFieldType(api, p.field)!;
    if (p.type !== expected) {
      throw VirError.report(
        ErrorCode.INVALID_ARG,
        ErrorDomain.DOMAIN,
        `invalid type '${TYPED_PARAM_TYPE_NAMES[p.type]}' for parameter '${p.field}', expected '${TYPED_PARAM_TYPE_NAMES[expected]}'`,
      );
    }
  }

  // ajv sees JSON values: 64-bit integers are compared as numbers, which is exact for any bound
  // a schema here sets (all far below 2^53).
  const asJson: Record<string, unknown> = {};
  for (const p of list) asJson[p.field] = typeof p.value === 'bigint' ? Number(p.value) : p.value;
  const validate = validatorFor(api);
  if (!validate(asJson)) throw schemaError(schema, validate.errors ?? [], asJson);

  return list.map((p) =>
    schema.properties[p.field]['x-virt-path'] && typeof p.value === 'string' ? { ...p, value: path.resolve(p.value) } : p,
  );
}

/** The field names of either input form; malformed list entries are left to toTypedParamList. */
function fieldNames(input: TypedParamsInput | null | undefined): string[] {
  if (input === null || input === undefined || typeof input !== 'object') return [];
  if (Array.isArray(input)) {
    return (input as readonly unknown[]).flatMap((p) =>
      p && typeof p === 'object' && typeof (p as { field?: unknown }).field === 'string' ? [(p as { field: string }).field] : [],
    );
  }
  return Object.keys(input);
}

function schemaError(schema: ParamSchema, errors: ErrorObject[], value: Record<string, unknown>): VirError {
  const e = errors[0];
  if (e.keyword === 'required') {
    const spec = schema['x-virt-error'];
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return spec ? report(spec, missing) : VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `missing parameter '${missing}'`);
  }
  const field = e.instancePath.replace(/^\//, '').replace(/~1/g, '/').replace(/~0/g, '~');
  const prop = schema.properties[field];
  const spec = prop?.['x-virt-errors']?.[e.keyword] ?? prop?.['x-virt-error'];
  if (spec) return report(spec, value[field]);
  return VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `parameter '${field}' ${e.message ?? 'is invalid'}`);
}
