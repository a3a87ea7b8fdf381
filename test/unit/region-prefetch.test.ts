/**
 * The page-cache warm-up of a region restore: it reads the chunks of the data maps and nothing
 * else (counted with this process's `rchar` in /proc/self/io), stops when told (more than once),
 * and leaves no descriptor open on the image, nor an error when the image is missing (the copy
 * reports that one).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prefetchRegions } from '../../src/drivers/qemu/region-copy';

const MIB = 1024 * 1024;

function fdsOn(file: string): string[] {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}

/** Runs `fn` with a sparse image of `size` bytes in a fresh directory, removed afterwards. */
async function withImage(size: number, fn: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prefetch-'));
  try {
    const file = path.join(dir, 'img');
    fs.writeFileSync(file, Buffer.alloc(0));
    fs.truncateSync(file, size);
    await fn(file, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rchar = (): number => Number(/^rchar: (\d+)/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);

test('reads exactly the mapped chunks', () =>
  withImage(80 * MIB, async (file) => {
    const regions = [
      { start: 0, length: 32 * MIB, sha256: '', data: [[2 * MIB, 6 * MIB]] as Array<[number, number]> },
      { start: 32 * MIB, length: 32 * MIB, sha256: '' },
      { start: 64 * MIB, length: 14 * MIB, sha256: '', data: [[0, 2 * MIB], [10 * MIB, 3 * MIB]] as Array<[number, number]> },
    ];
    const before = rchar();
    const p = prefetchRegions(file, 2 * MIB, regions);
    // Long enough for 11 MiB from a sparse file, then stopped.
    for (let i = 0; i < 100 && rchar() - before < 11 * MIB; i++) await new Promise((r) => setTimeout(r, 20));
    await p.stop();
    const read = rchar() - before;
    expect(read).toBeGreaterThanOrEqual(11 * MIB);
    expect(read).toBeLessThan(13 * MIB);
    expect(fdsOn(file)).toEqual([]);
  }));

test('stops on demand and closes the image', () =>
  withImage(64 * MIB, async (file, dir) => {
    const regions = [
      { start: 0, length: 32 * MIB, sha256: '', data: [[2 * MIB, 6 * MIB]] as Array<[number, number]> },
      { start: 32 * MIB, length: 32 * MIB, sha256: '' },
    ];
    const p = prefetchRegions(file, 4096, regions);
    await p.stop();
    await p.stop();
    expect(fdsOn(file)).toEqual([]);
    // Nothing mapped: nothing opened.
    const none = prefetchRegions(path.join(dir, 'missing'), 0, [regions[1]]);
    await none.stop();
    // A missing image is the copy's error to report, not the warm-up's.
    const missing = prefetchRegions(path.join(dir, 'missing'), 0, regions);
    await expect(missing.stop()).resolves.toBeUndefined();
  }));
