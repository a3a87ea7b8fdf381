import fc from 'fast-check';
import {
  ErrorCode,
  TypedParamType,
  VirError,
  paramSchemas,
  schemaFieldType,
  toTypedParamList,
  typedParamsToObject,
  validateParams,
  type ParamApi,
  type TypedParameter,
} from '../../src';

const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof VirError)) throw e;
    return e.code;
  }
};

describe('typed parameter model', () => {
  it('accepts the plain object form with types from the schema', () => {
    const list = validateParams('domain-save-params', { file: '/tmp/a', 'parallel.channels': 4, image_format: 'raw' });
    expect(list).toEqual([
      { field: 'file', type: TypedParamType.STRING, value: '/tmp/a' },
      { field: 'parallel.channels', type: TypedParamType.INT, value: 4 },
      { field: 'image_format', type: TypedParamType.STRING, value: 'raw' },
    ]);
  });

  it('accepts libvirt list form and makes file paths absolute', () => {
    const list = validateParams('domain-save-params', [{ field: 'file', type: TypedParamType.STRING, value: 'rel/x.img' }]);
    expect(list[0].value).toBe(`${process.cwd()}/rel/x.img`);
  });

  it('keeps 64-bit values as bigint', () => {
    const l = toTypedParamList({ big: 2n ** 63n + 5n });
    expect(l[0]).toEqual({ field: 'big', type: TypedParamType.ULLONG, value: 2n ** 63n + 5n });
    expect(typedParamsToObject(l)).toEqual({ big: 2n ** 63n + 5n });
  });

  it('reports errors with libvirt codes and messages in libvirt order', () => {
    expect(codeOf(() => validateParams('domain-save-params', { nope: 'x', file: 3 as unknown as string }))).toBe(ErrorCode.ARGUMENT_UNSUPPORTED);
    expect(() => validateParams('domain-save-params', { file: 3 as unknown as string })).toThrow(
      "invalid argument: invalid type 'int' for parameter 'file', expected 'string'",
    );
    expect(codeOf(() => validateParams('domain-save-params', [{ field: 'x'.repeat(80), type: TypedParamType.INT, value: 1 }]))).toBe(
      ErrorCode.INTERNAL_ERROR,
    );
    expect(codeOf(() => validateParams('domain-save-params', [{ field: 'parallel.channels', type: TypedParamType.INT, value: 2 ** 31 }]))).toBe(
      ErrorCode.INVALID_ARG,
    );
    expect(codeOf(() => validateParams('domain-save-params', [{ field: 'file', type: 9 as TypedParamType, value: 'x' }]))).toBe(ErrorCode.INVALID_ARG);
    expect(codeOf(() => validateParams('domain-save-params', { file: '' }))).toBe(ErrorCode.INVALID_ARG);
    expect(() => validateParams('domain-restore-params', { dxml: '<domain/>' })).toThrow('invalid argument: missing path to restore from');
  });

  it('exports schemas that carry each field libvirt type', () => {
    expect(Object.keys(paramSchemas['domain-save-params'].properties)).toEqual(
      expect.arrayContaining(['file', 'dxml', 'image_format', 'parallel.channels']),
    );
    expect(schemaFieldType('domain-save-params', 'parallel.channels')).toBe(TypedParamType.INT);
    expect(schemaFieldType('domain-restore-params', 'image_format')).toBeUndefined();
    expect(schemaFieldType('domain-save-params', 'constructor')).toBeUndefined();
  });

  const fieldArb = fc.oneof(
    fc.constantFrom('file', 'dxml', 'image_format', 'parallel.channels', 'parallel.compression', 'parallel.mode', 'toString', '__proto__'),
    fc.string({ maxLength: 90 }),
  );
  const paramArb: fc.Arbitrary<TypedParameter> = fc.oneof(
    fc.record({ field: fieldArb, type: fc.constant(TypedParamType.INT), value: fc.integer() as fc.Arbitrary<number | bigint | boolean | string> }),
    fc.record({ field: fieldArb, type: fc.constant(TypedParamType.UINT), value: fc.oneof(fc.integer(), fc.double()) }),
    fc.record({ field: fieldArb, type: fc.constant(TypedParamType.ULLONG), value: fc.bigInt() }),
    fc.record({ field: fieldArb, type: fc.constant(TypedParamType.DOUBLE), value: fc.double() }),
    fc.record({ field: fieldArb, type: fc.constant(TypedParamType.BOOLEAN), value: fc.boolean() }),
    fc.record({ field: fieldArb, type: fc.constant(TypedParamType.STRING), value: fc.oneof(fc.string(), fc.constantFrom('raw', 'zstd', 'files')) }),
    fc.record({ field: fieldArb, type: fc.integer({ min: -2, max: 12 }) as fc.Arbitrary<TypedParamType>, value: fc.anything() as fc.Arbitrary<string> }),
  );
  const allowed = new Set([ErrorCode.ARGUMENT_UNSUPPORTED, ErrorCode.INVALID_ARG, ErrorCode.INTERNAL_ERROR, ErrorCode.OPERATION_FAILED]);

  it('property: random lists yield a valid list or a VirError with a validation code', () => {
    fc.assert(
      fc.property(fc.constantFrom<ParamApi>('domain-save-params', 'domain-restore-params'), fc.array(paramArb, { maxLength: 6 }), (api, list) => {
        try {
          const out = validateParams(api, list);
          const names = out.map((p) => p.field);
          expect(new Set(names).size).toBe(names.length);
          for (const p of out) expect(schemaFieldType(api, p.field)).toBe(p.type);
        } catch (e) {
          expect(e).toBeInstanceOf(VirError);
          expect(allowed.has((e as VirError).code)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('property: random plain objects yield a valid list or a VirError', () => {
    fc.assert(
      fc.property(fc.dictionary(fieldArb, fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.bigInt(), fc.double(), fc.constant(null))), (obj) => {
        try {
          validateParams('domain-save-params', obj as Record<string, string>);
        } catch (e) {
          expect(e).toBeInstanceOf(VirError);
          expect(allowed.has((e as VirError).code)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
