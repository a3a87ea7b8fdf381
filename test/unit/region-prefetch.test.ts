/**
 * The page-cache warm-up of a region restore: it stops when told (more than once), opens nothing
 * when no region has a data map, and leaves no descriptor open on the image, nor an error when
 * the image is missing (the copy reports that one).
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

test('stops on demand and closes the image', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prefetch-'));
  try {
    const file = path.join(dir, 'img');
    fs.writeFileSync(file, Buffer.alloc(0));
    fs.truncateSync(file, 64 * MIB);
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
