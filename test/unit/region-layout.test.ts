/**
 * A region manifest must tile guest RAM in channel order. Regions that overlap (or start below 0)
 * would let a region whose data map lists nothing vouch, with the digest of zeros, for bytes an
 * overlapping region loads: an outside review built such a manifest and the restore accepted it.
 */
import type { SaveImageInfo, SaveManifest } from '../../src/conf/save-image';
import { readRegionLayout } from '../../src/drivers/qemu/region-pipeline';
import { ErrorCode } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';

const MIB = 1024 * 1024;
const RAM = 8 * MIB;
const OFF = 2 * MIB;

function info(regions: Array<[number, number]>): SaveImageInfo {
  const manifest: SaveManifest = {
    version: 2,
    mode: 'region',
    channels: regions.length,
    compression: 'none',
    uuid: '0b5b1b0e-1b1a-4c3e-9a1e-1d6c1f9f5e01',
    ram: { offset: OFF, size: RAM },
    files: [
      { name: '', channel: 0, offset: OFF + RAM, length: 100, sha256: 'd' },
      ...regions.map(([start, length], i) => ({ name: '', channel: i + 1, offset: OFF + start, length, sha256: 'r', data: [] as Array<[number, number]> })),
    ],
  };
  return { manifest, fileSize: OFF + RAM + 100 } as unknown as SaveImageInfo;
}

test('regions that tile the RAM are accepted', () => {
  expect(readRegionLayout('img', info([[0, 4 * MIB], [4 * MIB, 4 * MIB]])).regions.map((r) => r.start)).toEqual([0, 4 * MIB]);
});

test.each([
  ['overlapping', [[0, 4 * MIB], [0, 4 * MIB]], 'region 2 starts at 0'],
  ['out of order', [[4 * MIB, 4 * MIB], [0, 4 * MIB]], 'region 1 starts at 4194304'],
  ['starting below the RAM', [[-2 * MIB, 4 * MIB], [4 * MIB, 4 * MIB]], 'region 1 starts at -2097152'],
] as Array<[string, Array<[number, number]>, string]>)('%s regions are refused', (_what, regions, detail) => {
  let err: unknown;
  try {
    readRegionLayout('img', info(regions));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VirError);
  expect((err as VirError).code).toBe(ErrorCode.OPERATION_FAILED);
  expect((err as VirError).message).toContain(`save image 'img' region manifest does not cover the RAM in order (${detail})`);
});
