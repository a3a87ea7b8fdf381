import { xdrError } from './errors';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const HYPER_MIN = -(2n ** 63n);
const HYPER_MAX = 2n ** 63n - 1n;
const UHYPER_MAX = 2n ** 64n - 1n;

/** Bytes of zero padding that bring `len` up to the next multiple of 4. */
export function xdrPadding(len: number): number {
  return (4 - (len & 3)) & 3;
}

/** 64-bit inputs may be given as a safe-integer number for convenience; the wire value is exact. */
function toBigInt(value: bigint | number, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw xdrError(`XDR: ${what} value ${String(value)} is not an integer`);
  }
  return BigInt(value);
}

/**
 * Big-endian XDR (RFC 4506) encoder over a growable buffer. Every value is range-checked so a
 * caller's mistake surfaces as a VirError here rather than as silently wrapped bytes on the wire.
 */
export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  /** @param initialSize first allocation; the buffer doubles as needed. */
  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view; copy it if the writer is reused). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** XDR `int`: signed 32-bit. */
  writeInt(value: number): void {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw xdrError(`XDR: int value ${String(value)} out of range`);
    }
    this.ensure(4);
    this.buf.writeInt32BE(value, this.pos);
    this.pos += 4;
  }

  /** XDR `unsigned int`: unsigned 32-bit. */
  writeUint(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw xdrError(`XDR: unsigned int value ${String(value)} out of range`);
    }
    this.ensure(4);
    this.buf.writeUInt32BE(value, this.pos);
    this.pos += 4;
  }

  /** Overwrites an already written unsigned int (used to back-patch a frame's length). */
  writeUintAt(offset: number, value: number): void {
    if (offset < 0 || offset + 4 > this.pos) throw xdrError(`XDR: patch offset ${offset} outside written data`);
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw xdrError(`XDR: unsigned int value ${String(value)} out of range`);
    }
    this.buf.writeUInt32BE(value, offset);
  }

  /** XDR `hyper`: signed 64-bit. */
  writeHyper(value: bigint | number): void {
    const v = toBigInt(value, 'hyper');
    if (v < HYPER_MIN || v > HYPER_MAX) throw xdrError(`XDR: hyper value ${v} out of range`);
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** XDR `unsigned hyper`: unsigned 64-bit. */
  writeUhyper(value: bigint | number): void {
    const v = toBigInt(value, 'unsigned hyper');
    if (v < 0n || v > UHYPER_MAX) throw xdrError(`XDR: unsigned hyper value ${v} out of range`);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** XDR `bool`: an int that is 0 or 1. */
  writeBool(value: boolean): void {
    if (typeof value !== 'boolean') throw xdrError(`XDR: bool value ${String(value)} is not a boolean`);
    this.writeUint(value ? 1 : 0);
  }

  /** XDR `double`: IEEE 754 binary64. */
  writeDouble(value: number): void {
    if (typeof value !== 'number') throw xdrError(`XDR: double value ${String(value)} is not a number`);
    this.ensure(8);
    this.buf.writeDoubleBE(value, this.pos);
    this.pos += 8;
  }

  /** Raw bytes followed by zero padding to a multiple of 4 (the body of opaque and string). */
  private writePadded(bytes: Uint8Array): void {
    const pad = xdrPadding(bytes.length);
    this.ensure(bytes.length + pad);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
  }

  /** XDR `opaque x[n]`: exactly `size` bytes, no length word. */
  writeFixedOpaque(bytes: Uint8Array, size: number): void {
    if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
      throw xdrError(`XDR: fixed opaque needs exactly ${size} bytes, got ${bytes?.length ?? 'none'}`);
    }
    this.writePadded(bytes);
  }

  /** XDR `opaque x<max>`: length word then the bytes. */
  writeOpaque(bytes: Uint8Array, max: number): void {
    if (!(bytes instanceof Uint8Array)) throw xdrError('XDR: opaque value is not a byte array');
    if (bytes.length > max) throw xdrError(`XDR: opaque length ${bytes.length} exceeds maximum ${max}`);
    this.writeUint(bytes.length);
    this.writePadded(bytes);
  }

  /** XDR `string x<max>`: UTF-8 byte length (checked against `max`), bytes, padding. */
  writeString(value: string, max: number): void {
    if (typeof value !== 'string') throw xdrError(`XDR: string value ${String(value)} is not a string`);
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > max) throw xdrError(`XDR: string length ${bytes.length} exceeds maximum ${max}`);
    this.writeUint(bytes.length);
    this.writePadded(bytes);
  }

  /** Appends already encoded XDR bytes (must be 4-byte aligned to keep the stream aligned). */
  writeRaw(bytes: Uint8Array): void {
    if (bytes.length & 3) throw xdrError(`XDR: raw block of ${bytes.length} bytes is not 4-byte aligned`);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}
