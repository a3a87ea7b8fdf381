import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';
import { XdrReader, XdrWriter, xdrPadding } from '../../src/remote/xdr';

/** Runs `fn` and returns the VirError it throws (fails the test if it throws anything else). */
function rpcError(fn: () => unknown): VirError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VirError);
    const v = e as VirError;
    expect(v.code).toBe(ErrorCode.RPC);
    expect(v.domain).toBe(ErrorDomain.RPC);
    return v;
  }
  throw new Error('expected a VirError');
}

function written(fn: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(16);
  fn(w);
  return Buffer.from(w.toBuffer());
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('XdrWriter / XdrReader primitives', () => {
  it('encodes int and uint big-endian on 4 bytes and reads them back', () => {
    const buf = written((w) => {
      w.writeInt(-1);
      w.writeInt(0x7fffffff);
      w.writeInt(-0x80000000);
      w.writeUint(0xffffffff);
      w.writeUint(0x01020304);
    });
    expect(buf).toEqual(hex('ffffffff 7fffffff 80000000 ffffffff 01020304'));
    const r = new XdrReader(buf);
    expect([r.readInt(), r.readInt(), r.readInt(), r.readUint(), r.readUint()]).toEqual([
      -1, 0x7fffffff, -0x80000000, 0xffffffff, 0x01020304,
    ]);
    r.expectEnd();
  });

  it('rejects int/uint values outside their range or not integers', () => {
    const w = new XdrWriter();
    rpcError(() => w.writeInt(0x80000000));
    rpcError(() => w.writeInt(-0x80000001));
    rpcError(() => w.writeInt(1.5));
    rpcError(() => w.writeUint(-1));
    rpcError(() => w.writeUint(0x100000000));
    expect(w.length).toBe(0);
  });

  it('keeps hyper and uhyper exact beyond 2^53', () => {
    const values = [2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, -1n];
    const buf = written((w) => {
      for (const v of values) w.writeHyper(v);
      w.writeUhyper(2n ** 64n - 1n);
      w.writeUhyper(2n ** 53n + 3n);
    });
    expect(buf.subarray(0, 8)).toEqual(hex('0020000000000001'));
    expect(buf.subarray(32, 40)).toEqual(hex('ffffffffffffffff'));
    const r = new XdrReader(buf);
    expect(values.map(() => r.readHyper())).toEqual(values);
    expect(r.readUhyper()).toBe(2n ** 64n - 1n);
    expect(r.readUhyper()).toBe(2n ** 53n + 3n);
  });

  it('accepts safe-integer numbers for 64-bit values and rejects out-of-range ones', () => {
    expect(written((w) => w.writeUhyper(5))).toEqual(hex('0000000000000005'));
    const w = new XdrWriter();
    rpcError(() => w.writeHyper(2n ** 63n));
    rpcError(() => w.writeUhyper(-1n));
    rpcError(() => w.writeUhyper(2n ** 64n));
    rpcError(() => w.writeHyper(2 ** 60));
  });

  it('encodes bool as 0/1 and refuses other values on decode', () => {
    const buf = written((w) => {
      w.writeBool(true);
      w.writeBool(false);
    });
    expect(buf).toEqual(hex('00000001 00000000'));
    const r = new XdrReader(buf);
    expect([r.readBool(), r.readBool()]).toEqual([true, false]);
    const err = rpcError(() => new XdrReader(hex('00000002')).readBool());
    expect(err.message).toMatch(/invalid bool value 2/);
  });

  it('round-trips doubles bit for bit, including -0, infinities and NaN', () => {
    const values = [0.1, -0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE];
    const buf = written((w) => {
      for (const v of values) w.writeDouble(v);
      w.writeDouble(NaN);
    });
    expect(buf.subarray(0, 8)).toEqual(hex('3fb999999999999a'));
    const r = new XdrReader(buf);
    for (const v of values) expect(Object.is(r.readDouble(), v)).toBe(true);
    expect(r.readDouble()).toBeNaN();
  });

  it('pads strings with zero bytes to a multiple of 4', () => {
    expect(xdrPadding(0)).toBe(0);
    expect(xdrPadding(1)).toBe(3);
    expect(xdrPadding(4)).toBe(0);
    expect(xdrPadding(11)).toBe(1);
    const buf = written((w) => {
      w.writeString('abcde', 16);
      w.writeString('', 16);
      w.writeString('wxyz', 4);
    });
    expect(buf).toEqual(hex('00000005 6162636465000000 00000000 00000004 7778797a'));
    const r = new XdrReader(buf);
    expect([r.readString(16), r.readString(16), r.readString(4)]).toEqual(['abcde', '', 'wxyz']);
    r.expectEnd();
  });

  it('counts string length in UTF-8 bytes, at the bound and over it', () => {
    const buf = written((w) => w.writeString('é€', 5));
    expect(buf.readUInt32BE(0)).toBe(5);
    expect(new XdrReader(buf).readString(5)).toBe('é€');
    rpcError(() => new XdrWriter().writeString('é€', 4));
    const err = rpcError(() => new XdrReader(buf).readString(4));
    expect(err.message).toMatch(/string length 5 exceeds maximum 4/);
  });

  it('rejects non-zero padding bytes', () => {
    const err = rpcError(() => new XdrReader(hex('00000001 61000100')).readString(10));
    expect(err.message).toMatch(/padding/);
    rpcError(() => new XdrReader(hex('00000003 61626301')).readOpaque(10));
  });

  it('checks a length against the bytes left before allocating', () => {
    // Announces 4 MiB but carries 4 bytes: must fail on the length, not after reading.
    const err = rpcError(() => new XdrReader(hex('00400000 61626364')).readString(4194304));
    expect(err.message).toMatch(/truncated/);
    rpcError(() => new XdrReader(hex('00000005 6162636465')).readString(16)); // padding missing
    rpcError(() => new XdrReader(hex('000000')).readInt());
    rpcError(() => new XdrReader(hex('00000000 000000')).readHyper());
    rpcError(() => new XdrReader(hex('00000000')).readDouble());
  });

  it('handles fixed and variable opaque with their bounds', () => {
    const bytes = Buffer.from([1, 2, 3, 4, 5]);
    const buf = written((w) => {
      w.writeFixedOpaque(bytes, 5);
      w.writeOpaque(bytes, 5);
    });
    expect(buf).toEqual(hex('0102030405000000 00000005 0102030405000000'));
    const r = new XdrReader(buf);
    expect(r.readFixedOpaque(5)).toEqual(bytes);
    expect(r.readOpaque(5)).toEqual(bytes);
    rpcError(() => new XdrWriter().writeFixedOpaque(bytes, 4));
    rpcError(() => new XdrWriter().writeOpaque(bytes, 4));
    rpcError(() => new XdrReader(buf, 8).readOpaque(4));
  });

  it('bounds array counts by their maximum and by the bytes left', () => {
    expect(new XdrReader(hex('00000002 00000000 00000000')).readCount(2, 4)).toBe(2);
    expect(rpcError(() => new XdrReader(hex('00000003')).readCount(2, 4)).message).toMatch(/count 3 exceeds maximum 2/);
    expect(rpcError(() => new XdrReader(hex('00000002 00000000')).readCount(2, 4)).message).toMatch(/truncated/);
    // A huge count on a tiny buffer fails before any allocation.
    rpcError(() => new XdrReader(hex('ffffffff')).readCount(0xffffffff, 4));
  });

  it('reads within a region and reports trailing bytes', () => {
    const buf = hex('00000001 00000002 00000003');
    const r = new XdrReader(buf, 4, 8);
    expect(r.readInt()).toBe(2);
    expect(r.remaining).toBe(0);
    rpcError(() => r.readInt());
    const r2 = new XdrReader(buf);
    r2.readInt();
    expect(rpcError(() => r2.expectEnd()).message).toMatch(/8 unexpected trailing bytes/);
    rpcError(() => new XdrReader(buf, 8, 4));
  });

  it('grows its buffer and back-patches', () => {
    const w = new XdrWriter(16);
    w.writeUint(0);
    for (let i = 0; i < 1000; i++) w.writeInt(i);
    w.writeUintAt(0, w.length);
    const buf = w.toBuffer();
    expect(buf.length).toBe(4004);
    expect(buf.readUInt32BE(0)).toBe(4004);
    expect(buf.readInt32BE(4 + 999 * 4)).toBe(999);
    rpcError(() => w.writeUintAt(4002, 1));
    rpcError(() => w.writeRaw(Buffer.alloc(3)));
  });
});
