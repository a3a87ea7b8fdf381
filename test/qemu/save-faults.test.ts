/**
 * Fault injection on real QEMU guests, for every save layout (single stream, compressed single
 * stream, multifd files, region): a full disk, an abort early and mid-stream, QEMU killed, a
 * compressor that fails after QEMU finished, a damaged image, and hostile image paths. After each
 * failure the guest runs (or is paused) as before with its memory unchanged, the earlier image
 * at the path is byte-identical, and no temporary file, child, lock or socket is left.
 */
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, ErrorCode, PausedReason, RunningReason, ShutoffReason, type Domain, type VirError } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { readSaveImageHeader } from '../../src/conf/save-image';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { fillRandom } from '../helpers/qemu-guest';
import { FAULT_MODES, FILL_AT, FILL_LEN, RAM, filledGuest, imageFileNames, imageSnapshot, processesMentioning, ramHash, removeDomain, runDirExtras, smallDisk, type FaultParams } from './fault-helpers';

const env = setupQemuEnv('save-faults');
const SLOW = 'qemu:///session?save_max_bandwidth=262144';
let conn: Connect;
let slow: Connect;
let seq = 0;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
  slow = await Connect.open(SLOW);
});
afterAll(async () => {
  await slow.close().catch(() => undefined);
  await conn.close().catch(() => undefined);
  teardownQemuEnv(env);
});

type Params = FaultParams;

const guest = (extraDevices = ''): Promise<Domain> => filledGuest(conn, `sf-${process.pid}-${++seq}`, extraDevices);

/** Saves, then restores, so that `file` holds a complete earlier image and the guest runs again. */
async function earlierImage(dom: Domain, file: string, params: Params): Promise<Record<string, string>> {
  await dom.saveParams({ file, ...params });
  await conn.restoreParams({ file });
  expect((await dom.getState()).state).toBe(DomainState.RUNNING);
  return imageSnapshot(file);
}

/** Everything a failed save must leave as it found it. */
async function expectUnharmed(dom: Domain, file: string, before: Record<string, string>, hash: string, state: { state: number; reason: number } = { state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED }): Promise<void> {
  expect(await dom.getState()).toEqual(state);
  expect(ramHash(dom)).toBe(hash);
  expect(imageSnapshot(file)).toEqual(before);
  expect(processesMentioning(path.dirname(file))).toEqual([]);
  expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
}

const remove = removeDomain;

describe.each(FAULT_MODES)('%s save under faults', (mode, params) => {
  it('disk full: fails naming ENOSPC, the earlier image survives byte for byte, the guest runs on', async () => {
    const dom = await guest();
    const disk = smallDisk(env.workDir, 'full', 40);
    try {
      const file = path.join(disk.dir, 'img');
      const before = await earlierImage(dom, file, params);
      // More random memory than the disk can hold next to the earlier image.
      await dom.suspend();
      fillRandom(qemuPidOf(dom.uuid)!, RAM, 28 << 20, 60 << 20);
      await dom.resume();
      const hash = ramHash(dom);
      const e = await virErrorOf(dom.saveParams({ file, ...params }));
      expect([ErrorCode.OPERATION_FAILED, ErrorCode.SYSTEM_ERROR]).toContain(e.code);
      expect(e.message).toMatch(/No space left on device/);
      await expectUnharmed(dom, file, before, hash);
      // The lock and job are free: the next save (elsewhere) works.
      await dom.saveParams({ file: path.join(env.workDir, `after-full-${mode}.img`), ...params });
      expect((await dom.getState()).reason).toBe(ShutoffReason.SAVED);
    } finally {
      disk.unmount();
      await remove(dom);
    }
  }, 120000);

  it.each([['as soon as the job exists'], ['once data moves']])('abort %s: OPERATION_ABORTED, earlier image kept, guest runs', async (when) => {
    const dom = await guest();
    const file = path.join(env.workDir, `abort-${mode}-${seq}.img`);
    try {
      const before = await earlierImage(dom, file, params);
      const hash = ramHash(dom);
      const sdom = await slow.lookupDomainByName(dom.name);
      const saving = sdom.saveParams({ file, ...params });
      saving.catch(() => undefined);
      if (when.startsWith('as soon')) await waitFor(async () => (await dom.getJobInfo()).type !== 0, 20000, 'the save job');
      else await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, 20000, 'save progress');
      await dom.abortJob();
      expect((await virErrorOf(saving)).code).toBe(ErrorCode.OPERATION_ABORTED);
      await expectUnharmed(dom, file, before, hash);
    } finally {
      await remove(dom);
    }
  }, 120000);

  it('QEMU killed mid-save: the earlier image survives, nothing is left, the domain is shut off (crashed)', async () => {
    const dom = await guest();
    const file = path.join(env.workDir, `killed-${mode}.img`);
    try {
      const before = await earlierImage(dom, file, params);
      const sdom = await slow.lookupDomainByName(dom.name);
      const saving = sdom.saveParams({ file, ...params });
      saving.catch(() => undefined);
      await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, 20000, 'save progress');
      process.kill(qemuPidOf(dom.uuid)!, 'SIGKILL');
      const e = await virErrorOf(saving);
      expect(e.name).toBe('VirError');
      expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED });
      expect(imageSnapshot(file)).toEqual(before);
      expect(processesMentioning(env.workDir)).toEqual([]);
      expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
    } finally {
      await remove(dom);
    }
  }, 120000);
});

describe('single-stream integrity', () => {
  it.each([['raw', {}], ['zstd', { image_format: 'zstd' }]])('a changed byte in a %s image is refused before the guest runs; the image is untouched', async (_name, params: Params) => {
    const dom = await guest();
    const file = path.join(env.workDir, `flip-${_name}.img`);
    try {
      const hash = ramHash(dom);
      await dom.saveParams({ file, ...params });
      const info = await readSaveImageHeader(file);
      expect(info.manifest?.mode).toBe('single');
      const at = info.streamOffset + Math.floor((info.fileSize - info.streamOffset) / 2);
      const fd = fs.openSync(file, 'r+');
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, at);
      fs.writeSync(fd, Buffer.from([b[0] ^ 0x40]), 0, 1, at);
      const damaged = imageSnapshot(file);
      const e = await virErrorOf(conn.restoreParams({ file }));
      expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
      expect(e.message).toContain(file);
      expect(await dom.isActive()).toBe(false);
      expect(imageSnapshot(file)).toEqual(damaged);
      expect(processesMentioning(file)).toEqual([]);
      // Put the byte back: the same image restores, with the guest's memory.
      fs.writeSync(fd, b, 0, 1, at);
      fs.closeSync(fd);
      await conn.restoreParams({ file });
      expect(ramHash(dom)).toBe(hash);
    } finally {
      await remove(dom);
    }
  }, 120000);

  it('a compressor that fails after QEMU finished fails the save; the earlier image is kept', async () => {
    const dom = await guest();
    const file = path.join(env.workDir, 'bad-zstd.img');
    const bin = fs.mkdtempSync(path.join(env.workDir, 'bin-'));
    const realZstd = execFileSync('sh', ['-c', 'command -v zstd'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'zstd'), `#!/bin/sh\n${realZstd} "$@"\necho 'zstd: simulated late failure' >&2\nexit 3\n`, { mode: 0o755 });
    const oldPath = process.env.PATH;
    try {
      const before = await earlierImage(dom, file, { image_format: 'zstd' });
      const hash = ramHash(dom);
      process.env.PATH = `${bin}:${oldPath}`;
      const e = await virErrorOf(dom.saveParams({ file, image_format: 'zstd' }));
      expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
      expect(e.message).toContain('simulated late failure');
      await expectUnharmed(dom, file, before, hash);
    } finally {
      process.env.PATH = oldPath;
      await remove(dom);
    }
  }, 120000);
});

describe('hostile image paths', () => {
  const cases: Array<[string, (p: string) => void, ErrorCode, RegExp]> = [
    ['a FIFO', (p) => execFileSync('mkfifo', [p]), ErrorCode.INVALID_ARG, /is a FIFO/],
    ['a directory', (p) => fs.mkdirSync(p), ErrorCode.INVALID_ARG, /is a directory/],
    ['a device node', (p) => execFileSync('mknod', [p, 'c', '1', '3']), ErrorCode.INVALID_ARG, /is a character device/],
    ['a symlink loop', (p) => fs.symlinkSync(p, p), ErrorCode.SYSTEM_ERROR, /Too many levels of symbolic links/],
    ['a missing directory', () => undefined, ErrorCode.SYSTEM_ERROR, /No such file or directory/],
  ];

  it.each(cases)('save to and restore from %s fail at once with a VirError; the guest keeps running', async (what, make, code, text) => {
    const dom = await guest();
    const dir = fs.mkdtempSync(path.join(env.workDir, 'paths-'));
    const p = what === 'a missing directory' ? path.join(dir, 'nope', 'img') : path.join(dir, 'img');
    make(p);
    try {
      const hash = ramHash(dom);
      const state = await dom.getState();
      for (const params of [{}, { 'parallel.channels': 2 }] as Params[]) {
        const started = Date.now();
        const e: VirError = await virErrorOf(dom.saveParams({ file: p, ...params }));
        expect(Date.now() - started).toBeLessThan(10000);
        expect(e.code).toBe(code);
        expect(e.message).toMatch(text);
        expect(await dom.getState()).toEqual(state);
      }
      const r = await virErrorOf(conn.restoreParams({ file: p }));
      expect([ErrorCode.INVALID_ARG, ErrorCode.SYSTEM_ERROR]).toContain(r.code);
      expect(ramHash(dom)).toBe(hash);
      expect(fs.readdirSync(dir).filter((f) => f !== 'img')).toEqual([]);
      expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
    } finally {
      await remove(dom);
    }
  }, 60000);
});

describe('region mode beside a disk of the same size as RAM', () => {
  it('copies guest RAM, never the disk, and the restore leaves the disk as it was', async () => {
    const diskFile = path.join(env.workDir, 'same-size.raw');
    fs.writeFileSync(diskFile, crypto.randomBytes(RAM));
    const diskHash = (): string => crypto.createHash('sha256').update(fs.readFileSync(diskFile)).digest('hex');
    const dh = diskHash();
    const dom = await guest(`<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${diskFile}'/><target dev='vda' bus='virtio'/></disk>`);
    try {
      const hash = ramHash(dom);
      const file = path.join(env.workDir, 'same-size.img');
      await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' });
      expect(diskHash()).toBe(dh);
      await conn.restoreParams({ file }, 0);
      expect(ramHash(dom)).toBe(hash);
      expect(diskHash()).toBe(dh);
      expect(imageFileNames(file)).toEqual(['same-size.img']);
    } finally {
      await remove(dom);
    }
  }, 120000);

  it('an instant-restored guest (RAM mapped from an image) is refused, not saved from the stale image', async () => {
    const dom = await guest();
    const file = path.join(env.workDir, 'instant-src.img');
    try {
      await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' });
      await conn.restoreParams({ file, 'parallel.instant': true });
      await dom.suspend();
      const hash = fillRandom(qemuPidOf(dom.uuid)!, RAM, FILL_AT, FILL_AT + FILL_LEN);
      expect(ramHash(dom)).toBe(hash);
      const e = await virErrorOf(dom.saveParams({ file: path.join(env.workDir, 'instant-again.img'), 'parallel.channels': 2, 'parallel.mode': 'region' }));
      expect(e.code).toBe(ErrorCode.OPERATION_UNSUPPORTED);
      expect(await dom.getState()).toEqual({ state: DomainState.PAUSED, reason: PausedReason.USER });
      // Another layout saves what the guest holds now.
      const other = path.join(env.workDir, 'instant-files.img');
      await dom.saveParams({ file: other, 'parallel.channels': 2 });
      await conn.restoreParams({ file: other });
      expect(ramHash(dom)).toBe(hash);
    } finally {
      await remove(dom);
    }
  }, 120000);

  it('a paused guest stays paused after a failed region save', async () => {
    const dom = await guest();
    const disk = smallDisk(env.workDir, 'full-paused', 8);
    try {
      await dom.suspend();
      const hash = ramHash(dom);
      const file = path.join(disk.dir, 'img');
      const e = await virErrorOf(dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' }));
      expect(e.message).toMatch(/No space left on device/);
      await expectUnharmed(dom, file, {}, hash, { state: DomainState.PAUSED, reason: PausedReason.USER });
    } finally {
      disk.unmount();
      await remove(dom);
    }
  }, 60000);
});
