/**
 * Region restores read the image's RAM with O_DIRECT into page-aligned buffers where the
 * filesystem allows it: the bytes that arrive are the image's, damage is still caught, and a data
 * map the kernel cannot read directly (offsets the manifest chose, not block-aligned) falls back
 * to reads through the cache instead of failing the restore.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REGION_CHUNK, alignedChunks, copyRegions, openDirectRead, restoreRegions, type RegionDigest } from '../../src/drivers/qemu/region-copy';
import { ErrorCode } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';

const MIB = 1024 * 1024;
/** Filesystems that take O_DIRECT on every kernel CI may run (ext4, xfs, btrfs). */
const DIRECT_FS = new Set([0xef53, 0x58465342, 0x9123683e]);
/** On disk, not in a tmpfs: the direct path is what is tested. */
const BASE = '/var/tmp';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(BASE, 'region-direct-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const p = (n: string): string => path.join(dir, n);

/** A FileHandle whose reads are counted: which path a restore took. */
function counted(fh: fs.promises.FileHandle): { fh: fs.promises.FileHandle; reads: () => number } {
  let n = 0;
  const proxy = new Proxy(fh, {
    get(target, key) {
      if (key === 'read') {
        return (...args: Parameters<fs.promises.FileHandle['read']>) => {
          n++;
          return (target.read as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { fh: proxy, reads: () => n };
}

/** A region image: 2 MiB of header, then 8 MiB of RAM with data in a few places (none in 4-6 MiB if asked). */
async function makeImage(zeroFourToSix = false): Promise<{ ram: Buffer; digests: RegionDigest[]; ramOffset: number }> {
  const size = 8 * MIB;
  const ramOffset = 2 * MIB;
  const ram = Buffer.alloc(size);
  randomBytes(zeroFourToSix ? 3 * MIB : 3 * MIB + 4096).copy(ram, MIB);
  randomBytes(64 * 1024).copy(ram, 7 * MIB);
  fs.writeFileSync(p('ram'), ram);
  fs.writeFileSync(p('img'), Buffer.alloc(0));
  fs.truncateSync(p('img'), ramOffset + size);
  const [src, img] = await Promise.all([fs.promises.open(p('ram'), 'r'), fs.promises.open(p('img'), 'r+')]);
  try {
    const digests = await copyRegions({ src, srcOffset: 0, dst: img, dstOffset: ramOffset, size, workers: 3 });
    return { ram, digests, ramOffset };
  } finally {
    await Promise.all([src.close(), img.close()]);
  }
}

/** Restores the image into a fresh `out` and returns its bytes, and how many direct reads ran. */
async function restore(digests: RegionDigest[], ramOffset: number, size: number, useDirect = true): Promise<{ out: Buffer; directReads: number; progress: number }> {
  let progress = 0;
  fs.writeFileSync(p('out'), Buffer.alloc(0));
  fs.truncateSync(p('out'), size);
  const opened = useDirect ? await openDirectRead(p('img')) : null;
  const direct = opened ? counted(opened) : null;
  const dst = await fs.promises.open(p('out'), 'r+');
  try {
    await restoreRegions({ file: p('img'), direct: direct?.fh ?? null, srcOffset: ramOffset, dst, dstOffset: 0, size, workers: digests.length, expect: digests, imageName: 'img', onProgress: (_w, n) => (progress += n) });
  } finally {
    await Promise.all([dst.close(), opened?.close()]);
  }
  return { out: fs.readFileSync(p('out')), directReads: direct?.reads() ?? 0, progress };
}

async function directSupported(): Promise<boolean> {
  const { type } = await fs.promises.statfs(BASE);
  return DIRECT_FS.has(type);
}

test('aligned chunks are separate, chunk-sized, and take O_DIRECT reads', async () => {
  const bufs = alignedChunks(4)!;
  expect(bufs).toHaveLength(4);
  bufs.forEach((b, i) => b.fill(i + 1));
  bufs.forEach((b, i) => {
    expect(b.length).toBe(REGION_CHUNK);
    expect(b[0]).toBe(i + 1);
    expect(b[REGION_CHUNK - 1]).toBe(i + 1);
  });
  const data = randomBytes(2 * REGION_CHUNK);
  fs.writeFileSync(p('f'), data);
  const fh = await openDirectRead(p('f'));
  if (!(await directSupported())) return expect(fh).toBeNull();
  expect(fh).not.toBeNull();
  try {
    for (const [i, b] of bufs.entries()) {
      const { bytesRead } = await fh!.read(b, 0, REGION_CHUNK, (i % 2) * REGION_CHUNK);
      expect(bytesRead).toBe(REGION_CHUNK);
      expect(b.equals(data.subarray((i % 2) * REGION_CHUNK, ((i % 2) + 1) * REGION_CHUNK))).toBe(true);
    }
  } finally {
    await fh!.close();
  }
});

test('an image O_DIRECT cannot open is read through the cache; a missing one is reported by that open', async () => {
  expect(await openDirectRead(p('missing'))).toBeNull();
  const { ram, digests, ramOffset } = await makeImage();
  fs.renameSync(p('img'), p('gone'));
  const err = await restore(digests, ramOffset, ram.length).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VirError);
  expect((err as VirError).code).toBe(ErrorCode.SYSTEM_ERROR);
  expect((err as VirError).message).toContain(`cannot open save image '${p('img')}': No such file or directory`);
});

test('a restore reads the RAM directly and gets the image bytes; without O_DIRECT it reads through the cache', async () => {
  const { ram, digests, ramOffset } = await makeImage();
  const direct = await restore(digests, ramOffset, ram.length);
  expect(direct.out.equals(ram)).toBe(true);
  expect(direct.progress).toBe(ram.length);
  if (await directSupported()) expect(direct.directReads).toBeGreaterThan(0);
  const buffered = await restore(digests, ramOffset, ram.length, false);
  expect(buffered.out.equals(ram)).toBe(true);
  expect(buffered.directReads).toBe(0);
});

test('damage read directly is refused as a checksum mismatch, not retried through the cache', async () => {
  const { ram, digests, ramOffset } = await makeImage();
  const fd = fs.openSync(p('img'), 'r+');
  fs.writeSync(fd, Buffer.from([ram[MIB + 77] ^ 0xff]), 0, 1, ramOffset + MIB + 77);
  fs.closeSync(fd);
  const err = await restore(digests, ramOffset, ram.length).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VirError);
  expect((err as VirError).code).toBe(ErrorCode.OPERATION_FAILED);
  expect((err as VirError).message).toContain("checksum mismatch in the RAM region of save image 'img'");
});

test('a data map with offsets O_DIRECT cannot read restores through the cache, bytes and checksums intact', async () => {
  const { ram, digests, ramOffset } = await makeImage();
  // The same bytes, each first run cut 1000 bytes past its first chunk: that chunk is read (and
  // reported) directly, then a read of 1000 bytes is not block-aligned.
  const cut = REGION_CHUNK + 1000;
  const odd = digests.map((d) => {
    if (!d.data?.length || d.data[0][1] <= cut) return d;
    const [[off, len], ...rest] = d.data;
    return { ...d, data: [[off, cut], [off + cut, len - cut], ...rest] as Array<[number, number]> };
  });
  expect(odd.some((d, i) => d.data?.length !== digests[i].data?.length)).toBe(true);
  const r = await restore(odd, ramOffset, ram.length);
  expect(r.out.equals(ram)).toBe(true);
  // The refused pass's progress is not counted twice.
  expect(r.progress).toBe(ram.length);
  if (await directSupported()) expect(r.directReads).toBeGreaterThan(0);
});

test('bytes a refused direct pass wrote are overwritten by the pass through the cache, zeros too', async () => {
  const { ram, digests, ramOffset } = await makeImage(true);
  // No data maps (as when they outgrow the manifest): every chunk is read, zero ones included.
  const unmapped = digests.map(({ data: _data, ...d }) => d);
  const zeroChunk = 2;
  expect(ram.subarray(zeroChunk * REGION_CHUNK, (zeroChunk + 1) * REGION_CHUNK).every((b) => b === 0)).toBe(true);
  const last = ram.length - REGION_CHUNK;
  // The direct pass misreads a zero chunk as data, then a later read is refused with EINVAL.
  const img = await fs.promises.open(p('img'), 'r');
  const misread = {
    read: async (buf: Buffer, off: number, len: number, pos: number) => {
      if (pos === ramOffset + zeroChunk * REGION_CHUNK) {
        buf.fill(0xaa, off, off + len);
        return { bytesRead: len, buffer: buf };
      }
      if (pos === ramOffset + last) {
        await new Promise((r) => setTimeout(r, 50));
        throw Object.assign(new Error('EINVAL: invalid argument, read'), { code: 'EINVAL', syscall: 'read' });
      }
      return img.read(buf, off, len, pos);
    },
  } as unknown as fs.promises.FileHandle;
  fs.writeFileSync(p('out'), Buffer.alloc(0));
  fs.truncateSync(p('out'), ram.length);
  const dst = await fs.promises.open(p('out'), 'r+');
  let progress = 0;
  try {
    await restoreRegions({ file: p('img'), direct: misread, srcOffset: ramOffset, dst, dstOffset: 0, size: ram.length, workers: unmapped.length, expect: unmapped, imageName: 'img', onProgress: (_w, n) => (progress += n) });
  } finally {
    await Promise.all([dst.close(), img.close()]);
  }
  expect(fs.readFileSync(p('out')).equals(ram)).toBe(true);
  expect(progress).toBe(ram.length);
});

test('a failed copy settles only after every read it started has ended', async () => {
  const ended: number[] = [];
  let settled = -1;
  // Region 1 fails at once; region 2 has both its chunks in flight, the second slow to come back.
  const src = {
    read: (buf: Buffer, _off: number, len: number, pos: number) =>
      new Promise((resolve, reject) => {
        if (pos === 0) return setTimeout(() => reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })), 10);
        setTimeout(() => {
          ended.push(pos);
          resolve({ bytesRead: len, buffer: buf });
        }, pos === 6 * MIB ? 300 : 30);
      }),
  } as unknown as fs.promises.FileHandle;
  const dst = { write: async (b: Buffer, _o: number, l: number) => ({ bytesWritten: l, buffer: b }) } as unknown as fs.promises.FileHandle;
  const expect2 = [
    { start: 0, length: 4 * MIB, sha256: 'x' },
    { start: 4 * MIB, length: 4 * MIB, sha256: 'y' },
  ];
  const err = await copyRegions({ src, srcOffset: 0, dst, dstOffset: 0, size: 8 * MIB, workers: 2, expect: expect2, imageName: 'img' }).then(
    () => null,
    (e: unknown) => {
      settled = ended.length;
      return e;
    },
  );
  expect((err as VirError).code).toBe(ErrorCode.SYSTEM_ERROR);
  expect(ended).toContain(6 * MIB);
  expect(settled).toBe(ended.length);
});
