/**
 * Warming the page cache with a region image's RAM data while the restore's QEMU starts (about
 * 120 ms under TCG here, the time the copy would otherwise spend waiting for its destination).
 * The bytes read are thrown away: the copy reads them again, now from memory, and verifies them
 * there. Only the chunks the regions' data maps list are read, in the order the copy reads them.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { REGION_CHUNK, type RegionDigest } from './copy-regions';

/** A running warm-up; `stop` ends it and closes its descriptor (idempotent). */
export interface Prefetch {
  stop(): Promise<void>;
}

/** Reads in flight per region: the copy's share for 4 or more regions (copy-regions.ts). */
const DEPTH = 2;

async function warmRegion(fh: FileHandle, base: number, r: RegionDigest, stopped: () => boolean): Promise<void> {
  const buf = Buffer.allocUnsafe(REGION_CHUNK);
  for (const [offset, length] of r.data ?? []) {
    for (let pos = offset; pos < offset + length; pos += REGION_CHUNK) {
      if (stopped()) return;
      await fh.read(buf, 0, Math.min(REGION_CHUNK, offset + length - pos), base + r.start + pos);
    }
  }
}

/**
 * Starts reading the data chunks of `regions` (RAM at `ramOffset` in `file`) ahead of the copy.
 * Regions without a data map are left alone: reading all of a large region would evict more
 * than the copy gains. Failures are ignored; the copy reports its own.
 */
export function prefetchRegions(file: string, ramOffset: number, regions: readonly RegionDigest[]): Prefetch {
  let done = false;
  const mapped = regions.filter((r) => r.data?.length);
  const running = mapped.length
    ? open(file, 'r').then(async (fh) => {
        try {
          const lanes = mapped.flatMap((r) => Array.from({ length: DEPTH }, (_, k) => ({ ...r, data: stride(r.data!, k) })));
          await Promise.all(lanes.map((r) => warmRegion(fh, ramOffset, r, () => done)));
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

/** Every DEPTH-th chunk of `runs`, starting with chunk `k`, as single-chunk runs. */
function stride(runs: Array<[number, number]>, k: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = 0;
  for (const [offset, length] of runs) {
    for (let pos = offset; pos < offset + length; pos += REGION_CHUNK, i++) {
      if (i % DEPTH === k) out.push([pos, Math.min(REGION_CHUNK, offset + length - pos)]);
    }
  }
  return out;
}
