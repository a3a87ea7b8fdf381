/**
 * The single-stream writer's bash pipeline, run by bash as QEMU runs it: the file gets header
 * plus stream, the hash is the stored bytes' SHA-256, and the hash (or its temp file) exists by
 * the time bash exits, also when the stream stops early as when QEMU dies. A hasher that outlived
 * the script left a `.sha256` file behind after the save's cleanup had run.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writerPipeline } from '../../src/drivers/qemu/stream-commands';
import { SaveImageFormat } from '../../src/conf/save-image';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-pipeline-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEADER = randomBytes(4096);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let seq = 0;

/**
 * Runs the pipeline on `input` (written in pieces; `cutAfter` closes stdin early) and reports
 * the exit code and which of the hash files existed the moment bash exited.
 */
async function run(format: SaveImageFormat, input: Buffer, cutAfter = input.length) {
  const base = path.join(dir, `w${++seq}`);
  const file = `${base}.img`;
  fs.writeFileSync(file, HEADER);
  const hash = { file: `${base}.sha256`, tmp: `${base}.sha256.tmp` };
  const script = `set -o pipefail\n${writerPipeline({ file, streamOffset: HEADER.length, format, bypassCache: false }, hash)}\n`;
  const child = spawn('/bin/bash', ['-c', script], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; hashAtExit: boolean; tmpAtExit: boolean }>((resolve) =>
    child.on('exit', (code) => resolve({ code, hashAtExit: fs.existsSync(hash.file), tmpAtExit: fs.existsSync(hash.tmp) })),
  );
  child.stdin.on('error', () => undefined);
  for (let off = 0; off < cutAfter; off += 1 << 20) {
    if (!child.stdin.write(input.subarray(off, Math.min(off + (1 << 20), cutAfter)))) {
      await new Promise((r) => child.stdin.once('drain', r));
    }
  }
  child.stdin.end();
  const r = await exited;
  return { ...r, stderr, file, hash };
}

describe('single-stream writer pipeline', () => {
  const data = randomBytes(24 << 20);

  it('raw: header kept, stream appended, hash of the stream ready when bash exits', async () => {
    const r = await run(SaveImageFormat.RAW, data);
    expect(r).toMatchObject({ code: 0, hashAtExit: true, tmpAtExit: false, stderr: '' });
    const img = fs.readFileSync(r.file);
    expect(img.subarray(0, HEADER.length).equals(HEADER)).toBe(true);
    expect(img.subarray(HEADER.length).equals(data)).toBe(true);
    expect(fs.readFileSync(r.hash.file, 'latin1').slice(0, 64)).toBe(sha(data));
  });

  it('gzip: the hash covers the bytes as stored (compressed)', async () => {
    const r = await run(SaveImageFormat.GZIP, data);
    expect(r).toMatchObject({ code: 0, hashAtExit: true });
    const stored = fs.readFileSync(r.file).subarray(HEADER.length);
    expect(gunzipSync(stored).equals(data)).toBe(true);
    expect(fs.readFileSync(r.hash.file, 'latin1').slice(0, 64)).toBe(sha(stored));
  });

  it('a stream cut short (QEMU died): nothing of the hasher is still running or still to appear', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await run(SaveImageFormat.GZIP, data, (7 << 20) + 12345);
      expect(r.code).toBe(0);
      expect(r.hashAtExit).toBe(true);
      const before = fs.readdirSync(dir).sort();
      await new Promise((res) => setTimeout(res, 50));
      expect(fs.readdirSync(dir).sort()).toEqual(before);
    }
  });

  /**
   * A writer in `base` whose image or hash temp name is made a directory by `block`, so that
   * opening it fails; the writer must fail and leave no final hash.
   */
  async function expectFailure(name: string, block: (p: { file: string; tmp: string }) => void): Promise<void> {
    const base = path.join(dir, name);
    fs.mkdirSync(base);
    const file = path.join(base, 'img');
    const hash = { file: path.join(base, 'h'), tmp: path.join(base, 'h.tmp') };
    block({ file, tmp: hash.tmp });
    const script = `set -o pipefail\n${writerPipeline({ file, streamOffset: 0, format: SaveImageFormat.RAW, bypassCache: false }, hash)}\n`;
    const child = spawn('/bin/bash', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => undefined);
    child.stdin.end(data.subarray(0, 4 << 20));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code).not.toBe(0);
    expect(fs.existsSync(hash.file)).toBe(false);
  }

  it('a hasher that cannot write its hash: non-zero status, no final hash', () => expectFailure('nohash', (p) => fs.mkdirSync(p.tmp)));

  it('an unwritable image: non-zero status, no final hash', () => expectFailure('noimage', (p) => fs.mkdirSync(p.file)));
});
