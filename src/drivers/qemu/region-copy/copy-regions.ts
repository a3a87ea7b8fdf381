/**
 * Parallel copy of guest RAM between a shared memory backend and a save image, for the
 * single-file region mode (Berrangé's reply to the RFC): N workers each own a disjoint region,
 * all-zero chunks are skipped so they stay holes in the image, and each region is hashed as it
 * passes so the restore can refuse a damaged image before the guest runs.
 *
 * The "workers" are concurrent async loops: Node runs the positional reads and writes on
 * libuv's thread pool, so N loops keep N transfers in flight without worker_threads.
 */
import fs from 'node:fs/promises';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import { NONZERO_BLOCK_HASH, createPieceHash } from '../../../conf/save-image/piece-hash';

/** Copy granularity; a multiple of the largest page size a backend may use (2 MiB huge pages). */
export const REGION_CHUNK = 2 * 1024 * 1024;
const ZERO = Buffer.alloc(REGION_CHUNK);

/** One region of the copy, with its checksum. */
export interface RegionDigest {
  /** Offset of the region inside the RAM (not inside the file). */
  start: number;
  length: number;
  /** Digest of the region's bytes by `algorithm` (piece-hash.ts). */
  sha256: string;
  /** Absent: SHA-256 of every byte (images of manifest version 1). */
  algorithm?: string;
}

/** Options of {@link copyRegions}. */
export interface CopyRegionsOptions {
  src: fs.FileHandle;
  srcOffset: number;
  dst: fs.FileHandle;
  dstOffset: number;
  /** RAM size in bytes. */
  size: number;
  /** Number of parallel workers (regions). */
  workers: number;
  /** Verify against these digests (restore) instead of only computing them (save). */
  expect?: RegionDigest[];
  /** Name of the image for error messages. */
  imageName?: string;
  onProgress?(worker: number, bytes: number): void;
  signal?: AbortSignal;
}

/** Splits `size` bytes into `n` chunk-aligned regions. */
export function splitRegions(size: number, n: number): Array<{ start: number; length: number }> {
  const chunks = Math.ceil(size / REGION_CHUNK);
  const per = Math.ceil(chunks / Math.max(1, n));
  const out: Array<{ start: number; length: number }> = [];
  for (let c = 0; c < chunks; c += per) {
    const start = c * REGION_CHUNK;
    out.push({ start, length: Math.min(per * REGION_CHUNK, size - start) });
  }
  return out;
}

/** An I/O error of the copy, naming the image (the side whose disk can fail). */
function ioError(o: CopyRegionsOptions, err: unknown): VirError {
  if (err instanceof VirError) return err;
  return VirError.system(ErrorDomain.QEMU, `cannot copy guest RAM ${o.expect ? 'from' : 'into'} save image${o.imageName ? ` '${o.imageName}'` : ''}`, err);
}

async function copyOne(o: CopyRegionsOptions, worker: number, start: number, length: number, algorithm: string | undefined): Promise<RegionDigest> {
  try {
    return await copyChunks(o, worker, start, length, algorithm);
  } catch (err) {
    throw ioError(o, err);
  }
}

async function copyChunks(o: CopyRegionsOptions, worker: number, start: number, length: number, algorithm: string | undefined): Promise<RegionDigest> {
  const hash = createPieceHash(algorithm);
  const buf = Buffer.allocUnsafe(REGION_CHUNK);
  for (let pos = 0; pos < length; ) {
    if (o.signal?.aborted) throw VirError.report(ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, 'region copy canceled');
    const want = Math.min(REGION_CHUNK, length - pos);
    const { bytesRead } = await o.src.read(buf, 0, want, o.srcOffset + start + pos);
    if (bytesRead !== want) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `save image${o.imageName ? ` '${o.imageName}'` : ''} is truncated in its RAM region`);
    }
    const data = buf.subarray(0, want);
    hash.update(data);
    // Zero chunks are not written: the destination was sized (and zeroed) beforehand, so they
    // stay holes in the image and untouched pages in a fresh memory backend.
    if (!data.equals(ZERO.subarray(0, want))) {
      let done = 0;
      while (done < want) done += (await o.dst.write(data, done, want - done, o.dstOffset + start + pos + done)).bytesWritten;
    }
    pos += want;
    o.onProgress?.(worker, want);
  }
  return { start, length, sha256: hash.digest(), ...(algorithm ? { algorithm } : {}) };
}

/**
 * Copies RAM with `workers` parallel regions. The destination must already be `size` bytes
 * long past `dstOffset` and read as zeros where nothing is written (a fresh sparse file).
 * On restore (`expect` given) a region whose checksum differs fails the whole copy.
 */
export async function copyRegions(o: CopyRegionsOptions): Promise<RegionDigest[]> {
  const regions = o.expect ?? splitRegions(o.size, o.workers).map((r) => ({ ...r, algorithm: NONZERO_BLOCK_HASH }));
  const digests = await Promise.all(regions.map((r, i) => copyOne(o, i + 1, r.start, r.length, r.algorithm)));
  if (o.expect) {
    digests.forEach((d, i) => {
      if (d.sha256 !== o.expect![i].sha256) {
        throw VirError.report(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.QEMU,
          `checksum mismatch in the RAM region of save image${o.imageName ? ` '${o.imageName}'` : ''} at offset ${o.srcOffset + d.start}`,
        );
      }
    });
  }
  return digests;
}
