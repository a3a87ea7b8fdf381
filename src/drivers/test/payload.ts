/**
 * The test driver's guest "memory": a deterministic pseudo-random payload (one byte per KiB of
 * currentMemory) generated from the domain UUID, cut into 64 KiB chunks that can be generated
 * independently (so channels can produce and check their share in parallel), plus the stream
 * records that frame it in an image. Layout: docs/save-image-format.md.
 */
import { createHash } from 'node:crypto';
import { uuidBytes } from '../../conf/uuid';
import type { SaveCompression } from '../../conf/save-image/manifest';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { zlibModule, zstdAvailable, zstdCompress, zstdDecompress } from '../../util/zstd';

/** Chunk size of the payload and of every write. */
export const CHUNK_SIZE = 64 * 1024;
/** Size of the main stream record and of each channel header. */
export const RECORD_SIZE = 64;
/** Magic of the main stream record. */
export const MAIN_RECORD_MAGIC = 'TSVTMAIN';
/** Magic of a channel header (QEMU's multifd init packet magic). */
export const CHANNEL_MAGIC = 0x11223344;
const COMPRESSION_CODES: Record<SaveCompression, number> = { none: 0, zlib: 1, zstd: 2 };

/** Payload size for a domain: 1 byte per KiB of current memory. */
export function payloadSize(currentMemoryKiB: number): number {
  return currentMemoryKiB;
}

/** Number of chunks of a payload. */
export function chunkCount(size: number): number {
  return Math.ceil(size / CHUNK_SIZE);
}

function seedOf(uuid: string): number {
  const b = createHash('sha256').update(uuidBytes(uuid)).digest();
  return b.readUInt32LE(0) || 0x9e3779b9;
}

/**
 * Chunk `index` of the payload of the domain `uuid` (the last chunk may be short). xorshift32
 * seeded per chunk, so any chunk is generated without the others.
 */
export function payloadChunk(uuid: string, index: number, size: number, seed = seedOf(uuid)): Buffer {
  const len = Math.min(CHUNK_SIZE, size - index * CHUNK_SIZE);
  const words = new Uint32Array(CHUNK_SIZE / 4);
  let x = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, len);
}

/** The seed of a domain's payload (cache it when generating many chunks). */
export function payloadSeed(uuid: string): number {
  return seedOf(uuid);
}

/** Fields of the main stream record. */
export interface MainRecord {
  channels: number;
  payloadSize: number;
  compression: SaveCompression;
  uuid: string;
}

/** Encodes the 64-byte main stream record (big-endian like QEMU's stream). */
export function encodeMainRecord(r: MainRecord): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  b.write(MAIN_RECORD_MAGIC, 0, 8, 'latin1');
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(r.channels, 12);
  b.writeBigUInt64BE(BigInt(r.payloadSize), 16);
  b.writeUInt32BE(CHUNK_SIZE, 24);
  b.writeUInt32BE(COMPRESSION_CODES[r.compression], 28);
  uuidBytes(r.uuid).copy(b, 32);
  return b;
}

/** Decodes a main stream record, or null when the bytes are not one. */
export function decodeMainRecord(b: Buffer): MainRecord | null {
  if (b.length < RECORD_SIZE || b.toString('latin1', 0, 8) !== MAIN_RECORD_MAGIC) return null;
  const code = b.readUInt32BE(28);
  const compression = (Object.keys(COMPRESSION_CODES) as SaveCompression[]).find((k) => COMPRESSION_CODES[k] === code);
  if (!compression || b.readUInt32BE(24) !== CHUNK_SIZE) return null;
  const hex = b.toString('hex', 32, 48);
  return {
    channels: b.readUInt32BE(12),
    payloadSize: Number(b.readBigUInt64BE(16)),
    compression,
    uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  };
}

/**
 * A channel file header, echoing QEMU's multifd init packet: BE magic 0x11223344, version 1,
 * the UUID, the 0-based channel id at offset 24; tsvirt adds the channel count at offset 28.
 */
export function encodeChannelHeader(uuid: string, channel: number, channels: number): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  b.writeUInt32BE(CHANNEL_MAGIC, 0);
  b.writeUInt32BE(1, 4);
  uuidBytes(uuid).copy(b, 8);
  b.writeUInt8(channel - 1, 24);
  b.writeUInt32BE(channels, 28);
  return b;
}

/** Decodes a channel header: 1-based channel and count, or null when the magic is wrong. */
export function decodeChannelHeader(b: Buffer): { channel: number; channels: number; uuidHex: string } | null {
  if (b.length < RECORD_SIZE || b.readUInt32BE(0) !== CHANNEL_MAGIC) return null;
  return { channel: b.readUInt8(24) + 1, channels: b.readUInt32BE(28), uuidHex: b.toString('hex', 8, 24) };
}

/** Refuses compressions this process cannot do (zstd needs node:zlib zstd or the zstd program). */
export function checkCompressionAvailable(c: SaveCompression): void {
  if (c === 'zstd' && !zstdAvailable()) {
    throw VirError.report(
      ErrorCode.CONFIG_UNSUPPORTED,
      ErrorDomain.TEST,
      'zstd compression is not available: this Node.js has no zstd in node:zlib and no zstd program is in PATH',
    );
  }
}

/** Frames one chunk for storage: raw, or u32 BE length + compressed bytes. */
export async function encodeChunk(chunk: Buffer, c: SaveCompression): Promise<Buffer> {
  if (c === 'none') return chunk;
  const z = c === 'zlib' ? zlibModule().deflateRawSync(chunk) : await zstdCompress(chunk);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(z.length, 0);
  return Buffer.concat([len, z]);
}

/** Inverse of encodeChunk for compressed frames. */
export async function decodeChunkBody(body: Buffer, c: SaveCompression): Promise<Buffer> {
  if (c === 'none') return body;
  return c === 'zlib' ? zlibModule().inflateRawSync(body) : zstdDecompress(body);
}
