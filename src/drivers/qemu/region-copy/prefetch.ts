/**
 * Warming the page cache with a region image's RAM data while the restore's QEMU starts (about
 * 120 ms under TCG here, the time the copy would otherwise spend waiting for its destination).
 * The bytes read are thrown away: the copy reads them again, now from memory, and verifies them
 * there. Only the chunks the regions' data maps list are read, in the order the copy reads them.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { REGION_CHUNK, REGION_CONCURRENCY, chunksOf, type RegionDigest } from './copy-regions';

/** A running warm-up; `stop` ends it and closes its descriptor (idempotent). */
export interface Prefetch {
  stop(): Promise<void>;
}

/** Reads in flight per region: the copy's share for 4 or more regions (copy-regions.ts). */
const DEPTH = 2;

/** Reads the chunks `chunks` yields until it is done or `stopped`; lanes share one generator. */
async function warmLane(fh: FileHandle, base: number, chunks: Iterator<[number, number]>, stopped: () => boolean): Promise<void> {
  const buf = Buffer.allocUnsafe(REGION_CHUNK);
  for (let c = chunks.next(); !c.done && !stopped(); c = chunks.next()) await fh.read(buf, 0, c.value[1], base + c.value[0]);
}

/**
 * Starts reading the data chunks of `regions` (RAM at `ramOffset` in `file`) ahead of the copy.
 * Only the first REGION_CONCURRENCY regions, and only those with a data map: reading all of a
 * large region would evict more than the copy gains. Failures are ignored; the copy reports its own.
 */
export function prefetchRegions(file: string, ramOffset: number, regions: readonly RegionDigest[]): Prefetch {
  let done = false;
  // The regions the copy starts with: its later ones would not be reached while QEMU starts, and
  // 255 channels must not mean 510 buffers.
  const mapped = regions.slice(0, REGION_CONCURRENCY).filter((r) => r.data?.length);
  const running = mapped.length
    ? open(file, 'r').then(async (fh) => {
        try {
          const lanes = mapped.flatMap((r) => {
            const chunks = chunksOf(r.data!);
            return Array.from({ length: DEPTH }, () => warmLane(fh, ramOffset + r.start, chunks, () => done));
          });
          await Promise.all(lanes);
        } finally {
          await fh.close();
        }
      })
    : Promise.resolve();
  running.catch(() => undefined);
  return {
    stop: async () => {
      done = true;
      await running.catch(() => undefined);
    },
  };
}
