import fc from 'fast-check';
import { VirError } from '../../src/util/vir-error';
import { TypedParamType, type TypedParameter } from '../../src/util/typed-params';
import { decodeXdr, encodeXdr, xdr, type XdrType } from '../../src/remote/xdr';
import { PROCEDURE_TABLE, remoteError, typedParams } from '../../src/remote/protocol';
import { decodeMessage } from '../../src/remote/rpc/message';

const RUNS = { numRuns: 300 };

function roundTrips<T>(t: XdrType<T>, arb: fc.Arbitrary<T>): void {
  fc.assert(
    fc.property(arb, (v) => {
      const buf = encodeXdr(t, v);
      expect(buf.length % 4).toBe(0);
      expect(decodeXdr(t, buf)).toEqual(v);
    }),
    RUNS,
  );
}

/** Decoding must yield a value or a VirError: any other exception is a codec bug. */
function valueOrVirError(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof VirError) return true;
    throw e;
  }
}

const typedParamArb: fc.Arbitrary<TypedParameter> = fc.oneof(
  fc.record({ field: fc.string(), type: fc.constant(TypedParamType.INT), value: fc.integer() }),
  fc.record({ field: fc.string(), type: fc.constant(TypedParamType.UINT), value: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ field: fc.string(), type: fc.constant(TypedParamType.LLONG), value: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n) }),
  fc.record({ field: fc.string(), type: fc.constant(TypedParamType.ULLONG), value: fc.bigUint(2n ** 64n - 1n) }),
  fc.record({ field: fc.string(), type: fc.constant(TypedParamType.DOUBLE), value: fc.double() }),
  fc.record({ field: fc.string(), type: fc.constant(TypedParamType.BOOLEAN), value: fc.boolean() }),
  fc.record({ field: fc.fullUnicodeString(), type: fc.constant(TypedParamType.STRING), value: fc.fullUnicodeString() }),
) as fc.Arbitrary<TypedParameter>;

describe('XDR properties', () => {
  it('round-trips every primitive', () => {
    roundTrips(xdr.int, fc.integer());
    roundTrips(xdr.uint, fc.integer({ min: 0, max: 0xffffffff }));
    roundTrips(xdr.hyper, fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n));
    roundTrips(xdr.uhyper, fc.bigUint(2n ** 64n - 1n));
    roundTrips(xdr.bool, fc.boolean());
    roundTrips(xdr.double, fc.double());
    roundTrips(xdr.string(64), fc.fullUnicodeString({ maxLength: 16 }));
    roundTrips(xdr.opaque(40), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)));
    roundTrips(xdr.fixedOpaque(7), fc.uint8Array({ minLength: 7, maxLength: 7 }).map((a) => Buffer.from(a)));
    roundTrips(xdr.charString(64), fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')));
  });

  it('round-trips composite descriptions', () => {
    const t = xdr.struct({
      a: xdr.optional(xdr.array(xdr.uhyper, 5)),
      u: xdr.union({ 0: xdr.xvoid, 1: xdr.string(8), 2: xdr.fixedArray(xdr.int, 2) }),
      s: xdr.string(100),
    });
    const arb = fc.record({
      a: fc.option(fc.array(fc.bigUint(2n ** 64n - 1n), { maxLength: 5 }), { nil: null }),
      u: fc.oneof(
        fc.constant({ type: 0 as const, value: undefined }),
        fc.record({ type: fc.constant(1 as const), value: fc.string({ maxLength: 8 }) }),
        fc.record({ type: fc.constant(2 as const), value: fc.tuple(fc.integer(), fc.integer()) }),
      ),
      s: fc.string({ maxLength: 100 }),
    });
    roundTrips(t, arb as fc.Arbitrary<never>);
  });

  it('round-trips typed parameter lists', () => {
    roundTrips(typedParams(64), fc.array(typedParamArb, { maxLength: 10 }));
  });

  it('turns random bytes into a value or a VirError for every procedure', () => {
    const types: XdrType<unknown>[] = [remoteError];
    for (const p of PROCEDURE_TABLE) types.push(p.args, p.ret);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.nat(types.length - 1), (bytes, i) =>
        valueOrVirError(() => decodeXdr(types[i], Buffer.from(bytes))),
      ),
      { numRuns: 3000 },
    );
  });

  it('turns mutated valid encodings into a value or a VirError', () => {
    const t = typedParams(64);
    fc.assert(
      fc.property(fc.array(typedParamArb, { maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.nat(255))), (params, edits) => {
        const buf = encodeXdr(t, params);
        for (const [pos, byte] of edits) if (buf.length) buf[pos % buf.length] = byte;
        const cut = buf.subarray(0, buf.length - (edits.length % 5));
        return valueOrVirError(() => decodeXdr(t, cut));
      }),
      RUNS,
    );
  });

  it('decodes random frames into a message or a VirError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => valueOrVirError(() => decodeMessage(Buffer.from(bytes)))),
      RUNS,
    );
  });
});
