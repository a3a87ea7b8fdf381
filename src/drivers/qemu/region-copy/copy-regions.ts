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
import { NONZERO_BLOCK_HASH, createPieceHash, type PieceHash } from '../../../conf/save-image/piece-hash';
import { linkedAbort, mapPool } from '../../../util/pool';

/** Copy granularity; a multiple of the largest page size a backend may use (2 MiB huge pages). */
export const REGION_CHUNK = 2 * 1024 * 1024;
/**
 * Regions worked on at once, whatever the image's channel count (up to 255): each costs
 * buffers or a dd process, and 2 cores gain nothing past a few.
 */
export const REGION_CONCURRENCY = 8;
/** A chunk of zeros to compare read chunks with (read-only). */
const ZERO_CHUNK = Buffer.alloc(REGION_CHUNK);

/** One region of the copy, with its checksum. */
export interface RegionDigest {
  /** Offset of the region inside the RAM (not inside the file). */
  start: number;
  length: number;
  /** Digest of the region's bytes by `algorithm` (piece-hash.ts). */
  sha256: string;
  /** Absent: SHA-256 of every byte (images of manifest version 1). */
  algorithm?: string;
  /** The region's chunks that hold data (see {@link DataRuns}); absent: any chunk may. */
  data?: DataRuns;
}

/**
 * Byte ranges `[offset, length]` of a region, relative to its start, sorted and merged, outside
 * of which the region is zeros. A restore reads only these: reading a never-written hole of the
 * image costs the kernel a fresh zeroed page-cache page (5.7 s of system time per 4 GiB here,
 * against 0.14 s once cached). The map need not be trusted: a chunk it leaves out is taken as
 * zeros by the digest too, so a map that hides data fails the region's checksum.
 */
export type DataRuns = Array<[number, number]>;

/** Appends a data chunk to `runs`, merging it into the last run when they touch. */
function addDataRun(runs: DataRuns, offset: number, length: number): void {
  const last = runs[runs.length - 1];
  if (last && last[0] + last[1] === offset) last[1] += length;
  else runs.push([offset, length]);
}

/**
 * Feeds one chunk read at `pos` of a region to its digest and data map; true when it holds data
 * (a zero chunk, compared once here, costs the digest nothing more and is left out of the map).
 */
export function feedChunk(hash: PieceHash, runs: DataRuns, pos: number, chunk: Buffer): boolean {
  if (chunk.equals(ZERO_CHUNK.subarray(0, chunk.length))) {
    hash.zeros(chunk.length);
    return false;
  }
  hash.update(chunk);
  addDataRun(runs, pos, chunk.length);
  return true;
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
  /**
   * Chunk buffers to read into, at least {@link chunkBuffersFor} of them (aligned ones when `src`
   * was opened with O_DIRECT); absent: fresh Buffers.
   */
  buffers?: Buffer[];
  /**
   * The destination may hold bytes of an earlier pass that failed part-way (restoreRegions'
   * fallback from O_DIRECT): zero chunks are written too, since the destination can no longer be
   * taken for zeros where this pass writes nothing, and the digest vouches only for what it read.
   */
  overwrite?: boolean;
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

async function copyOne(o: CopyRegionsOptions, worker: number, region: Region, free: Buffer[]): Promise<RegionDigest> {
  try {
    return await copyChunks(o, worker, region, free);
  } catch (err) {
    throw ioError(o, err);
  }
}

/** What a worker copies: a region, how its digest is computed, and where its data lies if known. */
type Region = Pick<RegionDigest, 'start' | 'length' | 'algorithm' | 'data'>;

/**
 * Reads in flight for all regions together: libuv runs 4 file operations at once, so more only
 * hold buffers. Each region gets its share, at least 2, so a region holding most of the data (a
 * mostly idle guest's) still keeps the disk busy while the others skip their holes.
 */
const READS_IN_FLIGHT = 8;

/** The chunks to read: each run cut at REGION_CHUNK, as `[offset, length]` in the region. */
export function* chunksOf(runs: DataRuns): Generator<[number, number]> {
  for (const [offset, length] of runs) {
    for (let pos = offset; pos < offset + length; pos += REGION_CHUNK) yield [pos, Math.min(REGION_CHUNK, offset + length - pos)];
  }
}

/** Regions copied at once and reads in flight per region, for `regions` regions. */
function lanesOf(regions: number): { lanes: number; depth: number } {
  const lanes = Math.min(REGION_CONCURRENCY, regions);
  return { lanes, depth: Math.max(2, Math.floor(READS_IN_FLIGHT / Math.max(1, lanes))) };
}

/** How many chunk buffers a copy of `regions` regions reads into (see CopyRegionsOptions.buffers). */
export function chunkBuffersFor(regions: number): number {
  const { lanes, depth } = lanesOf(regions);
  return lanes * depth;
}

/** `free` holds this region's read buffers; none is in use any more when this settles. */
async function copyChunks(o: CopyRegionsOptions, worker: number, r: Region, free: Buffer[]): Promise<RegionDigest> {
  const hash = await createPieceHash(r.algorithm);
  const found: DataRuns = [];
  const depth = free.length;
  const inFlight: Array<{ pos: number; want: number; buf: Buffer; read: Promise<number> }> = [];
  const chunks = chunksOf(r.data ?? [[0, r.length]]);
  const issue = (): void => {
    const next = chunks.next();
    if (next.done) return;
    const [pos, want] = next.value;
    const buf = free.pop()!;
    const read = o.src.read(buf, 0, want, o.srcOffset + r.start + pos).then((x) => x.bytesRead);
    // Reads still in flight when an earlier chunk fails are dropped with the copy.
    read.catch(() => undefined);
    inFlight.push({ pos, want, buf, read });
  };
  let pos = 0;
  const skipTo = (to: number): void => {
    if (to <= pos) return;
    hash.zeros(to - pos);
    o.onProgress?.(worker, to - pos);
    pos = to;
  };
  for (let k = 0; k < depth; k++) issue();
  try {
    await drain();
  } finally {
    // On a failure the reads still in flight end here, before the caller closes the image.
    await Promise.allSettled(inFlight.map((c) => c.read));
  }
  skipTo(r.length);
  return { start: r.start, length: r.length, sha256: hash.digest(), ...(r.algorithm ? { algorithm: r.algorithm } : {}), data: found };

  async function drain(): Promise<void> {
    // A chunk leaves inFlight only once done with, so whatever ends this loop early leaves its
    // read for the `finally` above to wait for.
    for (let c = inFlight[0]; c; c = inFlight[0]) {
      if (o.signal?.aborted) throw VirError.report(ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, 'region copy canceled');
      skipTo(c.pos);
      if ((await c.read) !== c.want) {
        throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `save image${o.imageName ? ` '${o.imageName}'` : ''} is truncated in its RAM region`);
      }
      const data = c.buf.subarray(0, c.want);
      // Zero chunks are not written: the destination was sized (and zeroed) beforehand, so they
      // stay holes in the image and untouched pages in a fresh memory backend.
      if (feedChunk(hash, found, c.pos, data) || o.overwrite) {
        let done = 0;
        while (done < c.want) done += (await o.dst.write(data, done, c.want - done, o.dstOffset + r.start + c.pos + done)).bytesWritten;
      }
      pos += c.want;
      o.onProgress?.(worker, c.want);
      inFlight.shift();
      free.push(c.buf);
      issue();
    }
  }
}

/**
 * Copies RAM with `workers` parallel regions. The destination must already be `size` bytes
 * long past `dstOffset` and read as zeros where nothing is written (a fresh sparse file).
 * On restore (`expect` given) a region whose checksum differs fails the whole copy, and only
 * the chunks of a region's data map are read.
 */
export async function copyRegions(o: CopyRegionsOptions): Promise<RegionDigest[]> {
  const regions: Region[] = o.expect ?? splitRegions(o.size, o.workers).map((r) => ({ ...r, algorithm: NONZERO_BLOCK_HASH }));
  const { depth } = lanesOf(regions.length);
  const pool = o.buffers ? [...o.buffers] : Array.from({ length: chunkBuffersFor(regions.length) }, () => Buffer.allocUnsafe(REGION_CHUNK));
  if (pool.length < chunkBuffersFor(regions.length)) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, 'too few buffers for the region copy');
  // One failed region stops the others at their next chunk, and none still runs afterwards.
  const ctl = linkedAbort(o.signal);
  const digests = await mapPool(
    regions,
    REGION_CONCURRENCY,
    async (r, i) => {
      // No read or write uses a region's buffers once copyOne settled (copyChunks awaits them all).
      const mine = pool.splice(0, depth);
      try {
        return await copyOne({ ...o, signal: ctl.signal }, i + 1, r, [...mine]);
      } finally {
        pool.push(...mine);
      }
    },
    ctl,
  );
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
