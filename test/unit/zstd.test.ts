/**
 * zstd on every supported Node: what tsvirt writes is a standard zstd frame (the zstd program
 * reads it), what the program writes tsvirt reads, and damaged data is refused.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { nativeZstd, zstdAvailable, zstdCompress, zstdDecompress, zstdProgram } from '../../src/util/zstd';

describe('zstd', () => {
  const data = Buffer.concat([randomBytes(70_000), Buffer.alloc(200_000, 7)]);

  test('is available here (node:zlib or the zstd program that scripts/setup.sh installs)', () => {
    expect(zstdAvailable()).toBe(true);
    if (!nativeZstd()) expect(zstdProgram()).toMatch(/\/zstd$/);
  });

  test('round-trips, and its frames are read by the zstd program', async () => {
    const z = await zstdCompress(data);
    expect(z.length).toBeLessThan(data.length);
    expect((await zstdDecompress(z)).equals(data)).toBe(true);
    const byProgram = execFileSync('zstd', ['-q', '-d', '-c'], { input: z, maxBuffer: 1 << 24 });
    expect(byProgram.equals(data)).toBe(true);
  });

  test("reads the zstd program's frames", async () => {
    const z = execFileSync('zstd', ['-q', '-c', '-19'], { input: data, maxBuffer: 1 << 24 });
    expect((await zstdDecompress(z)).equals(data)).toBe(true);
  });

  test('refuses damaged data', async () => {
    const z = await zstdCompress(data);
    const bad = Buffer.from(z);
    bad[0] ^= 0xff; // the frame magic
    await expect(zstdDecompress(bad)).rejects.toThrow();
    await expect(zstdDecompress(z.subarray(0, z.length >> 1))).rejects.toThrow();
  });
});
