/**
 * The range hasher behind sparse and single-stream checksums: digests equal a plain SHA-256 of
 * each range (holes included), more ranges than cores queue, and a short or missing file or a
 * kill rejects with a VirError naming the file and leaves no worker running.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { NONZERO_BLOCK_HASH } from '../../src/conf/save-image/piece-hash';
import { hashFileRanges, splitRange } from '../../src/drivers/qemu/file-range-hash';
import { ErrorCode } from '../../src/util/error-codes';
import { virErrorOf } from '../helpers/vir-error-of';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'range-hash-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MIB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A file of random data with a 9 MiB hole in the middle; returns its bytes as read. */
function sparseFile(name: string): { file: string; bytes: Buffer } {
  const file = path.join(dir, name);
  const head = randomBytes(5 * MIB + 123);
  const tail = randomBytes(3 * MIB + 7);
  fs.writeFileSync(file, head);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, tail, 0, tail.length, head.length + 9 * MIB);
  fs.closeSync(fd);
  return { file, bytes: Buffer.concat([head, Buffer.alloc(9 * MIB), tail]) };
}

test('digests equal SHA-256 of each range, holes read as zeros, more ranges than cores', async () => {
  const { file, bytes } = sparseFile('a.img');
  const baseline = threads();
  const ranges = splitRange(1000, bytes.length, 13);
  expect(ranges.length).toBeGreaterThan(os.availableParallelism());
  const digests = await hashFileRanges(file, ranges).digests;
  expect(digests).toEqual(ranges.map((r) => sha(bytes.subarray(r.offset, r.offset + r.length))));
  expect(fdsOn(file)).toEqual([]);
  // Workers end once the last range is hashed.
  for (let i = 0; i < 100 && threads() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
  expect(threads()).toBe(baseline);
  // An empty range, as splitRange gives for an empty stream.
  expect(await hashFileRanges(file, [{ offset: 0, length: 0 }]).digests).toEqual([sha(Buffer.alloc(0))]);
  expect(await hashFileRanges(file, []).digests).toEqual([]);
});

test('a range past the end of the file is OPERATION_FAILED naming the file', async () => {
  const { file, bytes } = sparseFile('short.img');
  const err = await virErrorOf(hashFileRanges(file, [{ offset: 0, length: MIB }, { offset: bytes.length - 10, length: 20 }]).digests);
  expect(err.code).toBe(ErrorCode.OPERATION_FAILED);
  expect(err.message).toContain(`cannot read save image '${file}': unexpected end of file at byte ${bytes.length}`);
  expect(fdsOn(file)).toEqual([]);
});

test('a missing file is a system error naming the file', async () => {
  const file = path.join(dir, 'missing.img');
  const err = await virErrorOf(hashFileRanges(file, [{ offset: 0, length: 10 }]).digests);
  expect(err.code).toBe(ErrorCode.SYSTEM_ERROR);
  expect(err.message).toContain(`cannot read save image '${file}'`);
  expect(err.message).toContain('No such file or directory');
});

/** Descriptors of this process open on `file`. */
const fdsOn = (file: string): string[] =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });

/** Threads of this process (each worker is one). */
const threads = (): number => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);

test('kill rejects with OPERATION_ABORTED and ends the workers', async () => {
  const { file, bytes } = sparseFile('kill.img');
  const before = threads();
  const h = hashFileRanges(file, splitRange(0, bytes.length, 40));
  expect(threads()).toBeGreaterThan(before);
  expect(fdsOn(file)).toHaveLength(1);
  h.kill();
  // Closed at once, not when the workers get round to it: a failed restore checks right away.
  expect(fdsOn(file)).toEqual([]);
  const err = await virErrorOf(h.digests);
  expect(err.code).toBe(ErrorCode.OPERATION_ABORTED);
  for (let i = 0; i < 100 && threads() > before; i++) await new Promise((r) => setTimeout(r, 20));
  expect(threads()).toBe(before);
});

test('workers holding the XXH3 hasher stop on their own: killed while it compiles, mid-range or done, none is left', async () => {
  const { file, bytes } = sparseFile('xxh-stop.img');
  const before = threads();
  const terminate = jest.spyOn(Worker.prototype, 'terminate');
  for (let i = 0; i < 30; i++) {
    // Odd rounds hash one range of several reads, so a kill lands between two of them.
    const h = hashFileRanges(file, splitRange(0, bytes.length, i % 2 ? 1 : 6).map((r) => ({ ...r, algorithm: NONZERO_BLOCK_HASH })));
    // 0: runs to the end; 1: killed before the hasher's WebAssembly is compiled; 2: killed mid-range.
    if (i % 3 === 1) setImmediate(() => h.kill());
    if (i % 3 === 2) setTimeout(() => h.kill(), 1 + (i % 7));
    const done = await h.digests.then(() => null, (e: unknown) => e as { code: number });
    if (i % 3 === 0) expect(done).toBeNull();
    else if (done) expect(done.code).toBe(ErrorCode.OPERATION_ABORTED);
    expect(fdsOn(file)).toEqual([]);
  }
  for (let i = 0; i < 150 && threads() > before; i++) await new Promise((r) => setTimeout(r, 20));
  expect(threads()).toBe(before);
  expect(terminate).not.toHaveBeenCalled();
  terminate.mockRestore();
}, 60000);
