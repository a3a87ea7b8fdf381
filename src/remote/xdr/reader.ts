import { xdrError } from './errors';
import { xdrPadding } from './writer';

/**
 * Big-endian XDR (RFC 4506) decoder over a Buffer. Every length and count is checked against its
 * declared bound and against the bytes actually left before anything is allocated, so a hostile
 * peer cannot make us reserve memory it never sends.
 */
export class XdrReader {
  private pos: number;
  private readonly end: number;

  /**
   * @param buf the bytes to decode
   * @param offset where decoding starts
   * @param end where the decodable region stops (defaults to the end of `buf`)
   */
  constructor(
    private readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw xdrError(`XDR: invalid region ${offset}..${end} of a ${buf.length}-byte buffer`);
    }
    this.pos = offset;
    this.end = end;
  }

  /** Current read position in the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left to decode. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless every byte of the region was consumed (trailing garbage is a malformed message). */
  expectEnd(): void {
    if (this.pos !== this.end) throw xdrError(`XDR: ${this.end - this.pos} unexpected trailing bytes`);
  }

  /** Checks that `n` more bytes exist; `what` names the item for the error. */
  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw xdrError(`XDR: truncated data: ${what} needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  /** XDR `int`. */
  readInt(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** XDR `unsigned int`. */
  readUint(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** XDR `hyper`, as bigint since it can pass 2^53. */
  readHyper(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** XDR `unsigned hyper`, as bigint. */
  readUhyper(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** XDR `bool`: anything but 0 or 1 is malformed. */
  readBool(): boolean {
    const v = this.readUint();
    if (v > 1) throw xdrError(`XDR: invalid bool value ${v}`);
    return v === 1;
  }

  /** XDR `double`. */
  readDouble(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Consumes and verifies the zero padding that follows `len` data bytes. */
  private skipPadding(len: number): void {
    const pad = xdrPadding(len);
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + i] !== 0) throw xdrError('XDR: non-zero padding byte');
    }
    this.pos += pad;
  }

  /** Reads `len` bytes plus padding; the result is a view into the source buffer. */
  private readPadded(len: number, what: string): Buffer {
    this.need(len + xdrPadding(len), what);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    this.skipPadding(len);
    return out;
  }

  /** XDR `opaque x[size]` (a view into the source buffer). */
  readFixedOpaque(size: number): Buffer {
    return this.readPadded(size, `fixed opaque[${size}]`);
  }

  /** XDR `opaque x<max>` (a view into the source buffer). */
  readOpaque(max: number): Buffer {
    const len = this.readUint();
    if (len > max) throw xdrError(`XDR: opaque length ${len} exceeds maximum ${max}`);
    return this.readPadded(len, `opaque<${max}>`);
  }

  /** XDR `string x<max>`, decoded as UTF-8. */
  readString(max: number): string {
    const len = this.readUint();
    if (len > max) throw xdrError(`XDR: string length ${len} exceeds maximum ${max}`);
    return this.readPadded(len, `string<${max}>`).toString('utf8');
  }

  /**
   * Reads an element count and checks it against `max` and against what is left, given the
   * smallest encoding one element can have, before the caller allocates anything.
   */
  readCount(max: number, minElementSize: number): number {
    const count = this.readUint();
    if (count > max) throw xdrError(`XDR: array count ${count} exceeds maximum ${max}`);
    if (minElementSize > 0) this.need(count * minElementSize, `array of ${count} elements`);
    return count;
  }
}
