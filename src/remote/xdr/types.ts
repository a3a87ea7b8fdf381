/**
 * Declarative XDR type descriptions: a procedure's arguments and reply are described as data
 * (`struct({...})`, `array(t, max)`, ...) and encoded/decoded by one generic walker, so the
 * protocol table stays a faithful transcription of remote_protocol.x rather than hand code.
 */
import { xdrError } from './errors';
import { XdrReader } from './reader';
import { XdrWriter, xdrPadding } from './writer';

/** One XDR type: how to write and read a JS value of type T. */
export interface XdrType<T> {
  /** Human-readable XDR spelling, for messages and debugging. */
  readonly name: string;
  /** Smallest number of bytes an encoding can take; bounds counts before allocation. */
  readonly minSize: number;
  /** Appends `value` to `w`. */
  encode(w: XdrWriter, value: T): void;
  /** Reads one value from `r`. */
  decode(r: XdrReader): T;
}

/** The JS value type an XdrType describes. */
export type XdrValue<X> = X extends XdrType<infer T> ? T : never;

/** Field name -> type, in wire order (object key order is insertion order for non-index keys). */
export type XdrFields = Record<string, XdrType<any>>;

/** The JS object a struct of `F` decodes to. */
export type XdrStructValue<F extends XdrFields> = { [K in keyof F]: XdrValue<F[K]> };

function prim<T>(name: string, minSize: number, encode: (w: XdrWriter, v: T) => void, decode: (r: XdrReader) => T): XdrType<T> {
  return { name, minSize, encode, decode };
}

/** `void`: no bytes; the value is always undefined. */
export const xvoid: XdrType<void> = prim<void>('void', 0, () => undefined, () => undefined);
/** `int`. */
export const int: XdrType<number> = prim('int', 4, (w, v) => w.writeInt(v), (r) => r.readInt());
/** `unsigned int`. */
export const uint: XdrType<number> = prim('unsigned int', 4, (w, v) => w.writeUint(v), (r) => r.readUint());
/** `hyper` (bigint on decode; a safe-integer number is accepted on encode). */
export const hyper: XdrType<bigint> = prim<bigint>('hyper', 8, (w, v) => w.writeHyper(v), (r) => r.readHyper());
/** `unsigned hyper` (bigint on decode; a safe-integer number is accepted on encode). */
export const uhyper: XdrType<bigint> = prim<bigint>('unsigned hyper', 8, (w, v) => w.writeUhyper(v), (r) => r.readUhyper());
/** `bool`. */
export const bool: XdrType<boolean> = prim('bool', 4, (w, v) => w.writeBool(v), (r) => r.readBool());
/** `double`. */
export const double: XdrType<number> = prim('double', 8, (w, v) => w.writeDouble(v), (r) => r.readDouble());

/** An unsigned int restricted to `bits` bits: rpcgen widens `unsigned char`/`short` to 4 bytes. */
function narrowUint(name: string, max: number): XdrType<number> {
  return prim(
    name,
    4,
    (w, v) => {
      if (!Number.isInteger(v) || v < 0 || v > max) throw xdrError(`XDR: ${name} value ${String(v)} out of range`);
      w.writeUint(v);
    },
    (r) => {
      const v = r.readUint();
      if (v > max) throw xdrError(`XDR: ${name} value ${v} out of range`);
      return v;
    },
  );
}

/** `unsigned char` (4 bytes on the wire). */
export const uchar: XdrType<number> = narrowUint('unsigned char', 0xff);
/** `unsigned short` (4 bytes on the wire). */
export const ushort: XdrType<number> = narrowUint('unsigned short', 0xffff);

/** `string x<max>`. */
export function string(max: number): XdrType<string> {
  return prim(`string<${max}>`, 4, (w, v) => w.writeString(v, max), (r) => r.readString(max));
}

/** `opaque x<max>`. */
export function opaque(max: number): XdrType<Buffer> {
  return prim<Buffer>(`opaque<${max}>`, 4, (w, v) => w.writeOpaque(v, max), (r) => r.readOpaque(max));
}

/** `opaque x[size]`. */
export function fixedOpaque(size: number): XdrType<Buffer> {
  return prim<Buffer>(`opaque[${size}]`, size + xdrPadding(size), (w, v) => w.writeFixedOpaque(v, size), (r) => r.readFixedOpaque(size));
}

/** `T *x`: a 0/1 presence word then the value; absent is `null` (undefined is accepted on encode). */
export function optional<T>(t: XdrType<T>): XdrType<T | null> {
  return prim<T | null>(
    `${t.name} *`,
    4,
    (w, v) => {
      if (v === null || v === undefined) {
        w.writeUint(0);
      } else {
        w.writeUint(1);
        t.encode(w, v);
      }
    },
    (r) => (r.readBool() ? t.decode(r) : null),
  );
}

/** `T x<max>`: count (rejected above `max`) then the elements. */
export function array<T>(t: XdrType<T>, max: number): XdrType<T[]> {
  return prim<T[]>(
    `${t.name}<${max}>`,
    4,
    (w, v) => {
      if (!Array.isArray(v)) throw xdrError(`XDR: ${t.name}<${max}> value is not an array`);
      if (v.length > max) throw xdrError(`XDR: array count ${v.length} exceeds maximum ${max}`);
      w.writeUint(v.length);
      for (const item of v) t.encode(w, item);
    },
    (r) => {
      const count = r.readCount(max, t.minSize);
      const out = new Array<T>(count);
      for (let i = 0; i < count; i++) out[i] = t.decode(r);
      return out;
    },
  );
}

/** `T x[n]`: exactly `n` elements, no count word. */
export function fixedArray<T>(t: XdrType<T>, n: number): XdrType<T[]> {
  return prim<T[]>(
    `${t.name}[${n}]`,
    t.minSize * n,
    (w, v) => {
      if (!Array.isArray(v) || v.length !== n) {
        throw xdrError(`XDR: ${t.name}[${n}] needs exactly ${n} elements, got ${Array.isArray(v) ? v.length : 'none'}`);
      }
      for (const item of v) t.encode(w, item);
    },
    (r) => {
      r.need(t.minSize * n, `${t.name}[${n}]`);
      const out = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = t.decode(r);
      return out;
    },
  );
}

/** `struct { ... }`: the fields in declaration order. */
export function struct<F extends XdrFields>(fields: F, name = 'struct'): XdrType<XdrStructValue<F>> {
  const entries = Object.entries(fields);
  const minSize = entries.reduce((sum, [, t]) => sum + t.minSize, 0);
  return prim<XdrStructValue<F>>(
    name,
    minSize,
    (w, v) => {
      if (v === null || typeof v !== 'object') throw xdrError(`XDR: ${name} value is not an object`);
      const obj = v as Record<string, unknown>;
      for (const [key, t] of entries) t.encode(w, obj[key]);
    },
    (r) => {
      const out: Record<string, unknown> = {};
      for (const [key, t] of entries) out[key] = t.decode(r);
      return out as XdrStructValue<F>;
    },
  );
}

/** A decoded union: the discriminant and the arm's value. */
export interface XdrUnionValue<D extends number = number, V = unknown> {
  type: D;
  value: V;
}

/** The value type of a union whose arms are `A`. */
export type XdrUnionOf<A extends Record<number, XdrType<any>>> = {
  [K in keyof A & number]: XdrUnionValue<K, XdrValue<A[K]>>;
}[keyof A & number];

/**
 * `union switch (int d) { case n: T; ... }`. A discriminant with no arm is malformed unless
 * `defaultArm` is given (XDR's `default:`).
 */
export function union<A extends Record<number, XdrType<any>>>(
  arms: A,
  name = 'union',
  defaultArm?: XdrType<any>,
): XdrType<XdrUnionOf<A>> {
  const table = new Map<number, XdrType<any>>(Object.entries(arms).map(([k, t]) => [Number(k), t]));
  const armFor = (d: number): XdrType<any> => {
    const t = table.get(d) ?? defaultArm;
    if (!t) throw xdrError(`XDR: ${name} has no arm for discriminant ${d}`);
    return t;
  };
  return prim<XdrUnionOf<A>>(
    name,
    4,
    (w, v) => {
      if (v === null || typeof v !== 'object') throw xdrError(`XDR: ${name} value is not an object`);
      const arm = armFor(v.type);
      w.writeInt(v.type);
      arm.encode(w, v.value);
    },
    (r) => {
      const type = r.readInt();
      const value = armFor(type).decode(r);
      return { type, value } as XdrUnionOf<A>;
    },
  );
}

/**
 * A type whose JS form differs from its wire form (e.g. a uuid string over `opaque[16]`):
 * `fromWire` runs after decoding, `toWire` before encoding; both may throw VirError.
 */
export function transform<W, T>(base: XdrType<W>, fromWire: (w: W) => T, toWire: (v: T) => W, name = base.name): XdrType<T> {
  return prim<T>(name, base.minSize, (w, v) => base.encode(w, toWire(v)), (r) => fromWire(base.decode(r)));
}

/**
 * rpcgen's `char x<max>`: an array of chars, each widened to a 4-byte int on the wire (rpcgen
 * special-cases only `opaque` and `string`). The JS form is the bytes; libvirt sends SASL data
 * this way.
 */
export function charBytes(max: number): XdrType<Buffer> {
  return prim<Buffer>(
    `char<${max}>`,
    4,
    (w, v) => {
      if (!Buffer.isBuffer(v)) throw xdrError(`XDR: char<${max}> value is not a Buffer`);
      if (v.length > max) throw xdrError(`XDR: char array length ${v.length} exceeds maximum ${max}`);
      w.writeUint(v.length);
      for (const b of v) w.writeInt(b >= 0x80 ? b - 0x100 : b);
    },
    (r) => {
      // readCount checks the count against the bytes left before anything is allocated.
      const count = r.readCount(max, 4);
      const bytes = Buffer.allocUnsafe(count);
      for (let i = 0; i < count; i++) {
        const c = r.readInt();
        if (c < -128 || c > 255) throw xdrError(`XDR: char value ${c} out of range`);
        bytes[i] = c & 0xff;
      }
      return bytes;
    },
  );
}

/**
 * `char x<max>` as libvirt uses it for security labels: a NUL-terminated C string. The JS form
 * is the string without the NUL.
 */
export function charString(max: number): XdrType<string> {
  return transform(
    charBytes(max),
    (bytes) => {
      const nul = bytes.indexOf(0);
      return bytes.subarray(0, nul < 0 ? bytes.length : nul).toString('utf8');
    },
    (v: string) => {
      if (typeof v !== 'string') throw xdrError(`XDR: char<${max}> value is not a string`);
      return Buffer.from(v + '\0', 'utf8');
    },
    `char<${max}>`,
  );
}

/** Encodes `value` as `t` into a fresh buffer. */
export function encodeXdr<T>(t: XdrType<T>, value: T, initialSize = 256): Buffer {
  const w = new XdrWriter(initialSize);
  t.encode(w, value);
  // The writer is private to this call, so its bytes can be handed out without a copy.
  return w.toBuffer();
}

/** Decodes exactly one `t` from `buf` (or `buf[offset..end)`); trailing bytes are malformed. */
export function decodeXdr<T>(t: XdrType<T>, buf: Buffer, offset = 0, end = buf.length): T {
  const r = new XdrReader(buf, offset, end);
  const value = t.decode(r);
  r.expectEnd();
  return value;
}
