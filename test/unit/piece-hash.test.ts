/**
 * The zero-skipping digest of RAM pieces: computed as docs/save-image-format.md specifies it
 * (checked against an independent loop over the spec), the same however the bytes are fed and
 * in the worker threads as in the main thread, and as sensitive to changes as a hash of every
 * byte: a zeroed block, a filled hole, a moved block and trailing zeros all change it. New images
 * use XXH3-128 inside; the SHA-256 variant (earlier version 2 images) and plain SHA-256 (pieces
 * that name no algorithm, manifest version 1) keep verifying.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xxhash128 } from 'hash-wasm';
import {
  NONZERO_BLOCK_HASH,
  NONZERO_BLOCK_SHA256,
  createPieceHash,
  decodeManifest,
  encodeManifest,
  type SaveManifest,
} from '../../src/conf/save-image';
import { hashFileRanges } from '../../src/drivers/qemu/file-range-hash';
import { copyRegions } from '../../src/drivers/qemu/region-copy';
import { ErrorCode } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';

const KIB = 1024;
const BLOCK = 64 * KIB;

const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** The inner hash of a whole encoded string, in one call: not the incremental path under test. */
async function innerOf(encoded: Buffer, algorithm: string): Promise<string> {
  return algorithm === NONZERO_BLOCK_SHA256 ? createHash('sha256').update(encoded).digest('hex') : xxhash128(encoded);
}

/** The spec, written out the slow way: a separate statement of the format. */
async function specDigest(piece: Buffer, algorithm = NONZERO_BLOCK_HASH): Promise<string> {
  const parts: Buffer[] = [];
  for (let off = 0; off < piece.length; off += BLOCK) {
    const b = piece.subarray(off, Math.min(piece.length, off + BLOCK));
    if (b.some((x) => x !== 0)) parts.push(u64(off), b);
  }
  parts.push(u64(piece.length));
  return innerOf(Buffer.concat(parts), algorithm);
}

async function digestOf(piece: Buffer, splits: number[] = [], algorithm = NONZERO_BLOCK_HASH): Promise<string> {
  const h = await createPieceHash(algorithm);
  let at = 0;
  for (const s of [...splits, piece.length]) {
    h.update(piece.subarray(at, Math.min(s, piece.length)));
    at = Math.min(s, piece.length);
  }
  return h.digest();
}

/** 1 MiB + 1000 bytes: zero blocks, random blocks, a block with one non-zero byte, a short tail. */
function samplePiece(): Buffer {
  const p = Buffer.alloc(16 * BLOCK + 1000);
  randomBytes(BLOCK).copy(p, 0);
  randomBytes(3 * BLOCK).copy(p, 5 * BLOCK);
  p[11 * BLOCK + 77] = 1;
  randomBytes(500).copy(p, 16 * BLOCK + 100);
  return p;
}

test.each([NONZERO_BLOCK_HASH, NONZERO_BLOCK_SHA256])('%s matches the spec and does not depend on how the bytes are fed', async (algorithm) => {
  const p = samplePiece();
  const want = await specDigest(p, algorithm);
  expect(await digestOf(p, [], algorithm)).toBe(want);
  expect(await digestOf(p, [1, 2, BLOCK - 1, BLOCK + 5, 7 * BLOCK, 7 * BLOCK, 9 * BLOCK + 3], algorithm)).toBe(want);
  // Byte-sized feeding across a block edge.
  const edges = Array.from({ length: 40 }, (_, i) => BLOCK - 20 + i);
  expect(await digestOf(p, edges, algorithm)).toBe(want);
  expect(want).not.toBe(createHash('sha256').update(p).digest('hex'));
  expect(await digestOf(Buffer.alloc(0), [], algorithm)).toBe(await specDigest(Buffer.alloc(0), algorithm));
  expect(want).toMatch(algorithm === NONZERO_BLOCK_HASH ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{64}$/);
});

test('the inner XXH3-128 is the canonical one (the reference test vectors, big-endian hex)', async () => {
  // Empty input and "a" with seed 0, as xxhsum -H2 prints them.
  const h = await createPieceHash(NONZERO_BLOCK_HASH);
  h.update(Buffer.alloc(0));
  expect(await xxhash128('')).toBe('99aa06d3014798d86001c324468d497f');
  expect(await xxhash128('a')).toBe('a96faf705af16834e6c632b61e964e1f');
  // An empty piece encodes as u64le(0) alone.
  expect(h.digest()).toBe(await xxhash128(u64(0)));
});

test('a fixed piece has the digest xxhsum computes for its encoding (pins the stored format, whatever hash-wasm does)', async () => {
  // Four 64 KiB blocks and a 1000-byte tail; block 1 all zeros. The expected value is
  // `xxhsum -H2` (xxHash 0.8.1, Debian's xxhash package) over the encoding written out by hand:
  // u64le(offset) and the block for blocks 0, 2, 3 and the tail, then u64le(263144).
  const piece = Buffer.alloc(4 * BLOCK + 1000);
  for (let i = 0; i < piece.length; i++) if (Math.floor(i / BLOCK) !== 1) piece[i] = (i * 31 + Math.floor(i / BLOCK) * 7 + 1) & 0xff;
  expect(await digestOf(piece)).toBe('8d1f92a79034fcd02939674be7e0a996');
  expect(await digestOf(piece, [100, BLOCK + 3, 3 * BLOCK])).toBe('8d1f92a79034fcd02939674be7e0a996');
});

test('zeros() equals feeding the zero bytes, aligned or not, and offsets past 4 GiB are encoded whole', async () => {
  const piece = Buffer.concat([randomBytes(100), Buffer.alloc(200000), randomBytes(50), Buffer.alloc(3 * BLOCK), randomBytes(7)]);
  const h = await createPieceHash(NONZERO_BLOCK_HASH);
  h.update(piece.subarray(0, 100));
  h.zeros(200000);
  h.update(piece.subarray(200100, 200150));
  h.zeros(3 * BLOCK);
  h.update(piece.subarray(200150 + 3 * BLOCK));
  expect(h.digest()).toBe(await specDigest(piece));
  // The plain hash takes zeros() as the bytes themselves.
  const plain = await createPieceHash(undefined);
  plain.update(piece.subarray(0, 100));
  plain.zeros(200000);
  plain.update(piece.subarray(200100));
  expect(plain.digest()).toBe(createHash('sha256').update(piece).digest('hex'));

  const GIB = 1024 * 1024 * 1024;
  const data = randomBytes(BLOCK);
  const big = await createPieceHash(NONZERO_BLOCK_HASH);
  big.zeros(5 * GIB);
  big.update(data);
  expect(big.digest()).toBe(await xxhash128(Buffer.concat([u64(5 * GIB), data, u64(5 * GIB + BLOCK)])));
});

test('every change of the contents changes the digest', async () => {
  const p = samplePiece();
  const base = await digestOf(p);
  const variants: Array<[string, (b: Buffer) => Buffer]> = [
    ['a zero block gets a byte', (b) => ((b[3 * BLOCK + 9] = 7), b)],
    ['a data block is zeroed', (b) => (b.fill(0, 0, BLOCK), b)],
    ['the one-byte block loses its byte', (b) => ((b[11 * BLOCK + 77] = 0), b)],
    ['a data block moves to a zero block', (b) => (b.copy(b, 2 * BLOCK, 0, BLOCK), b.fill(0, 0, BLOCK), b)],
    ['a byte inside data flips', (b) => ((b[6 * BLOCK + 1] ^= 0x80), b)],
    ['trailing zeros are added', (b) => Buffer.concat([b, Buffer.alloc(10)])],
    ['trailing zeros are cut', (b) => b.subarray(0, b.length - 100)],
  ];
  const seen = new Set([base]);
  for (const [what, change] of variants) {
    const d = await digestOf(change(Buffer.from(p)));
    expect({ what, changed: d !== base }).toEqual({ what, changed: true });
    seen.add(d);
  }
  expect(seen.size).toBe(variants.length + 1);
});

test('worker threads compute the same digests as the main thread, for each algorithm, plain SHA-256 where none is named', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'piece-hash-'));
  try {
    const p = samplePiece();
    const file = path.join(dir, 'img');
    fs.writeFileSync(file, Buffer.concat([randomBytes(4096), p]));
    const ranges = [
      { offset: 4096, length: p.length, algorithm: NONZERO_BLOCK_HASH },
      { offset: 4096, length: p.length },
      { offset: 4096 + 5 * BLOCK + 3, length: 2 * BLOCK, algorithm: NONZERO_BLOCK_HASH },
      { offset: 4096, length: p.length, algorithm: NONZERO_BLOCK_SHA256 },
    ];
    const digests = await hashFileRanges(file, ranges).digests;
    expect(digests).toEqual([
      await specDigest(p),
      createHash('sha256').update(p).digest('hex'),
      await specDigest(p.subarray(5 * BLOCK + 3, 7 * BLOCK + 3)),
      await specDigest(p, NONZERO_BLOCK_SHA256),
    ]);
    expect(() => hashFileRanges(file, [{ offset: 0, length: 1, algorithm: 'md5' }])).toThrow(VirError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('region copies record the digest and a data map; version 1 (plain SHA-256) and SHA-256-variant regions still restore; damage is caught', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'piece-hash-'));
  const open = (n: string, flags: string): Promise<fs.promises.FileHandle> => fs.promises.open(path.join(dir, n), flags);
  try {
    const size = 8 * 1024 * KIB;
    const ram = Buffer.alloc(size);
    randomBytes(BLOCK * 3).copy(ram, 2 * 1024 * KIB + 5);
    fs.writeFileSync(path.join(dir, 'ram'), ram);
    fs.writeFileSync(path.join(dir, 'img'), Buffer.alloc(0));
    fs.truncateSync(path.join(dir, 'img'), size);
    const [src, img] = await Promise.all([open('ram', 'r'), open('img', 'r+')]);
    const digests = await copyRegions({ src, srcOffset: 0, dst: img, dstOffset: 0, size, workers: 2 });
    await Promise.all([src.close(), img.close()]);
    expect(digests.map((d) => d.algorithm)).toEqual([NONZERO_BLOCK_HASH, NONZERO_BLOCK_HASH]);
    expect(digests.map((d) => d.sha256)).toEqual(await Promise.all(digests.map((d) => specDigest(ram.subarray(d.start, d.start + d.length)))));

    const restoreWith = async (expectDigests: typeof digests): Promise<Buffer> => {
      fs.writeFileSync(path.join(dir, 'out'), Buffer.alloc(0));
      fs.truncateSync(path.join(dir, 'out'), size);
      const [i, o] = await Promise.all([open('img', 'r'), open('out', 'r+')]);
      try {
        await copyRegions({ src: i, srcOffset: 0, dst: o, dstOffset: 0, size, workers: 2, expect: expectDigests, imageName: 'img' });
      } finally {
        await Promise.all([i.close(), o.close()]);
      }
      return fs.readFileSync(path.join(dir, 'out'));
    };
    expect((await restoreWith(digests)).equals(ram)).toBe(true);
    const v1 = digests.map(({ start, length }) => ({ start, length, sha256: createHash('sha256').update(ram.subarray(start, start + length)).digest('hex') }));
    expect((await restoreWith(v1)).equals(ram)).toBe(true);
    // A region recorded by a writer of the SHA-256 variant restores too.
    const sha = await Promise.all(digests.map(async (d) => ({ ...d, algorithm: NONZERO_BLOCK_SHA256, sha256: await specDigest(ram.subarray(d.start, d.start + d.length), NONZERO_BLOCK_SHA256) })));
    expect((await restoreWith(sha)).equals(ram)).toBe(true);

    const refused = async (record: typeof digests): Promise<void> => {
      const err = await restoreWith(record).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VirError);
      expect((err as VirError).code).toBe(ErrorCode.OPERATION_FAILED);
      expect((err as VirError).message).toContain("checksum mismatch in the RAM region of save image 'img'");
    };
    // The data map lists the random bytes' chunks only (2 MiB units).
    expect(digests.map((d) => d.data)).toEqual([[[2 * 1024 * KIB, 2 * 1024 * KIB]], []]);
    // A map that hides data fails the checksum: the map need not be trusted.
    await refused([{ ...digests[0], data: [] }, digests[1]]);
    // A map that lists more than the data costs reads only.
    expect((await restoreWith([{ ...digests[0], data: [[0, 4 * 1024 * KIB]] }, digests[1]])).equals(ram)).toBe(true);

    // One byte of a hole filled in the image: a version 1 record (whole region read) refuses it;
    // with a data map the hole is not read and the guest gets the zeros it had when saved.
    const fd = fs.openSync(path.join(dir, 'img'), 'r+');
    fs.writeSync(fd, Buffer.from([1]), 0, 1, 6 * 1024 * KIB);
    fs.closeSync(fd);
    await refused(v1);
    expect((await restoreWith(digests)).equals(ram)).toBe(true);
    // A byte changed inside the data: every record refuses it.
    const fd2 = fs.openSync(path.join(dir, 'img'), 'r+');
    fs.writeSync(fd2, Buffer.from([ram[2 * 1024 * KIB + 100] ^ 1]), 0, 1, 2 * 1024 * KIB + 100);
    fs.closeSync(fd2);
    await refused(digests);
    await refused(v1);
    await refused(sha);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the manifest carries the algorithm; an unknown one is refused, not taken for damage', async () => {
  const m: SaveManifest = {
    version: 2,
    mode: 'region',
    channels: 1,
    compression: 'none',
    uuid: '0b5b1b0e-1b1a-4c3e-9a1e-1d6c1f9f5e01',
    files: [{ name: '', channel: 1, offset: 0, length: 10, sha256: 'ab', algorithm: NONZERO_BLOCK_HASH }],
    ram: { offset: 0, size: 10 },
  };
  const area = (x: SaveManifest): Buffer => Buffer.concat([Buffer.alloc(64), encodeManifest(x)]);
  expect(decodeManifest(area(m))?.files[0].algorithm).toBe(NONZERO_BLOCK_HASH);
  // A piece with an algorithm makes it a version 2 extension (footer: version at 8 of 16).
  const ext = encodeManifest(m);
  expect(ext.readUInt32LE(ext.length - 8)).toBe(2);
  const bad = { ...m, files: [{ ...m.files[0], algorithm: 'crc32' }] };
  expect(() => decodeManifest(area(bad))).toThrow("save image checksum algorithm 'crc32' is not supported");
  await expect(createPieceHash('crc32')).rejects.toThrow(VirError);
  expect(decodeManifest(area({ ...m, files: [{ ...m.files[0], algorithm: NONZERO_BLOCK_SHA256 }] }))?.files[0].algorithm).toBe(NONZERO_BLOCK_SHA256);
  // Data maps: sorted, disjoint, inside the piece; anything else is a corrupt manifest.
  const withData = (data: unknown): SaveManifest => ({ ...m, files: [{ ...m.files[0], data: data as Array<[number, number]> }] });
  expect(decodeManifest(area(withData([[0, 2], [4, 6]])))?.files[0].data).toEqual([[0, 2], [4, 6]]);
  for (const data of [[[4, 2], [0, 2]], [[0, 5], [4, 2]], [[8, 3]], [[0, 0]], [[-1, 2]], [[0]], 'all', [[0.5, 1]]]) {
    expect(() => decodeManifest(area(withData(data)))).toThrow('save image extension is corrupt');
  }
});
