import { ErrorCode } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';
import { decodeXdr, encodeXdr, xdr, type XdrType } from '../../src/remote/xdr';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function roundTrip<T>(t: XdrType<T>, value: T, expectedHex?: string): void {
  const buf = encodeXdr(t, value);
  if (expectedHex !== undefined) expect(buf.toString('hex')).toBe(expectedHex.replace(/\s+/g, ''));
  expect(buf.length % 4).toBe(0);
  expect(decodeXdr(t, buf)).toEqual(value);
}

function expectRpcError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(VirError);
  expect((caught as VirError).code).toBe(ErrorCode.RPC);
  expect((caught as VirError).message).toMatch(pattern);
}

describe('declarative XDR types', () => {
  it('describes structs in field order', () => {
    const t = xdr.struct({ b: xdr.int, a: xdr.string(8), c: xdr.uhyper });
    roundTrip(t, { b: 7, a: 'hi', c: 2n ** 60n }, '00000007 00000002 68690000 1000000000000000');
    expect(t.minSize).toBe(16);
    expectRpcError(() => encodeXdr(t, null as never), /not an object/);
  });

  it('widens unsigned char and short to 4 bytes and bounds them', () => {
    roundTrip(xdr.uchar, 255, '000000ff');
    roundTrip(xdr.ushort, 65535, '0000ffff');
    expectRpcError(() => encodeXdr(xdr.uchar, 256), /out of range/);
    expectRpcError(() => decodeXdr(xdr.ushort, hex('00010000')), /out of range/);
  });

  it('encodes optional values with a presence word', () => {
    const t = xdr.optional(xdr.int);
    roundTrip(t, null, '00000000');
    roundTrip(t, 5, '00000001 00000005');
    expect(encodeXdr(t, undefined as unknown as null)).toEqual(hex('00000000'));
    expectRpcError(() => decodeXdr(t, hex('00000002 00000005')), /invalid bool/);
    expectRpcError(() => decodeXdr(t, hex('00000001')), /truncated/);
  });

  it('bounds variable arrays on encode and decode', () => {
    const t = xdr.array(xdr.string(4), 2);
    roundTrip(t, [], '00000000');
    roundTrip(t, ['a', 'bcd'], '00000002 00000001 61000000 00000003 62636400');
    expectRpcError(() => encodeXdr(t, ['a', 'b', 'c']), /count 3 exceeds maximum 2/);
    expectRpcError(() => decodeXdr(t, hex('00000003 00000000 00000000 00000000')), /count 3 exceeds maximum 2/);
    // Count within the bound but more elements than bytes: rejected before allocating.
    expectRpcError(() => decodeXdr(xdr.array(xdr.hyper, 1000), hex('000003e8 00000000')), /truncated/);
  });

  it('encodes fixed arrays without a count', () => {
    const t = xdr.fixedArray(xdr.int, 3);
    roundTrip(t, [1, -1, 2], '00000001 ffffffff 00000002');
    expectRpcError(() => encodeXdr(t, [1, 2]), /exactly 3/);
    expectRpcError(() => decodeXdr(t, hex('00000001 00000002')), /truncated/);
  });

  it('dispatches unions on an int discriminant', () => {
    const t = xdr.union({ 1: xdr.int, 2: xdr.string(10), 3: xdr.xvoid });
    roundTrip(t, { type: 1, value: -2 }, '00000001 fffffffe');
    roundTrip(t, { type: 2, value: 'xy' }, '00000002 00000002 78790000');
    roundTrip(t, { type: 3, value: undefined }, '00000003');
    expectRpcError(() => decodeXdr(t, hex('00000009 00000000')), /no arm for discriminant 9/);
    expectRpcError(() => encodeXdr(t, { type: 9, value: 0 } as never), /no arm for discriminant 9/);
    const withDefault = xdr.union({ 1: xdr.int }, 'u', xdr.xvoid);
    roundTrip(withDefault, { type: 42, value: undefined } as never, '0000002a');
  });

  it('maps wire values through transform', () => {
    const t = xdr.transform(
      xdr.uint,
      (n) => String(n),
      (s: string) => Number(s),
    );
    roundTrip(t, '258', '00000102');
    expectRpcError(() => encodeXdr(t, 'x'), /out of range/);
  });

  it('sends char arrays as NUL-terminated 4-byte chars', () => {
    const t = xdr.charString(8);
    roundTrip(t, 'ab', '00000003 00000061 00000062 00000000');
    roundTrip(t, '', '00000001 00000000');
    expectRpcError(() => encodeXdr(t, 'abcdefgh'), /exceeds maximum 8/);
    // Peers may omit the NUL or send signed chars.
    expect(decodeXdr(t, hex('00000002 00000061 00000062'))).toBe('ab');
    expect(decodeXdr(t, hex('00000002 ffffffc3 ffffffa9'))).toBe('é');
    expectRpcError(() => decodeXdr(t, hex('00000001 00000100')), /char value 256/);
  });

  it('rejects trailing bytes when decoding a whole body', () => {
    expectRpcError(() => decodeXdr(xdr.int, hex('00000001 00000002')), /trailing/);
    expect(decodeXdr(xdr.xvoid, Buffer.alloc(0))).toBeUndefined();
  });
});
