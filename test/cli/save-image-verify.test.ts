/**
 * tsvirsh save-image-verify and the parallel save options, against the test driver.
 */
import { mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTest, requireBuild } from './run-cli';

let dir: string;
beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirsh-verify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] ^= 0x10;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

describe('tsvirsh save-image-verify', () => {
  test('lists every channel file of an intact image and exits 0', async () => {
    const img = path.join(dir, 'ok.img');
    const r = await onTest(`save test ${img} --parallel-channels 2 --parallel-compression zlib; save-image-verify ${img}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Layout:         files, 2 channel(s), compression zlib');
    expect(r.stdout).toContain(`channel 2    ${img}.2`);
    expect(r.stdout).toContain(`Save image ${img} is intact`);
  });

  test('names the damaged channel file and exits 1', async () => {
    const img = path.join(dir, 'bad.img');
    expect((await onTest(`save test ${img} --parallel-channels 3`)).code).toBe(0);
    flipByte(`${img}.3`, 1000);
    const r = await onTest(`save-image-verify ${img}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: Failed to verify save image ${img}`);
    expect(r.stderr).toContain(`checksum mismatch in save image file '${img}.3'`);
  });

  test('reports a missing channel file as a system error naming it', async () => {
    const img = path.join(dir, 'missing.img');
    expect((await onTest(`save test ${img} --parallel-channels 2`)).code).toBe(0);
    unlinkSync(`${img}.1`);
    const r = await onTest(`save-image-verify ${img}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read save image file '${img}.1': No such file or directory`);
  });

  test('accepts a plain single-stream image and says no checksums are recorded', async () => {
    const img = path.join(dir, 'plain.img');
    const r = await onTest(`save test ${img}; save-image-verify ${img}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Layout: +(single stream \(no checksums recorded\)|single, 1 channel)/);
  });

  test('refuses an unknown parallel mode with the schema error', async () => {
    const r = await onTest(`save test ${path.join(dir, 'x.img')} --parallel-mode stripes`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unsupported parallel save mode 'stripes'");
  });
});
