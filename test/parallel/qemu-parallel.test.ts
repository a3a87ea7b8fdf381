/**
 * Parallel save and restore through the QEMU driver on real QEMU: random bytes in guest RAM
 * survive every layout (multi-file with 1, 2, 4 channels and each compression; single-file
 * regions), and every kind of damage to an image is refused before the guest runs, leaving the
 * files as they were.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isPartialImageName } from '../../src/util/image-path';
import { Connect, DomainState, ErrorCode, RunningReason, SaveRestoreFlags, VirError, type Domain, type DomainSaveParams } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { readSaveImageHeader } from '../../src/conf/save-image';
import { SYSTEM_QEMU, emulatorXML } from '../helpers/qemu10';
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { COUNTER_GPA, counterDisk, fillRandom, pmemsaveHash, readGuestRam, writeGuestRam } from '../helpers/qemu-guest';
import { virErrorOf as errorOf } from '../helpers/vir-error-of';

const env = setupQemuEnv('qemu-parallel');
const MIB = 1024 * 1024;
const RAM = 128 * MIB;
const FILL_AT = 16 * MIB;
const FILL_LEN = 32 * MIB;
let conn: Connect;
let seq = 0;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
});
afterAll(async () => {
  await conn.close();
  teardownQemuEnv(env);
});

const SHARED_RAM = "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>";
const guestXML = (name: string, shared: boolean, devices = ''): string => smallGuestXML(name, RAM / MIB, devices, shared ? SHARED_RAM : '');

async function randomGuest(shared = false): Promise<{ dom: Domain; hash: string }> {
  const dom = await conn.defineXML(guestXML(`par-${++seq}`, shared));
  await dom.create();
  await dom.suspend();
  const hash = fillRandom(qemuPidOf(dom.uuid)!, RAM, FILL_AT, FILL_AT + FILL_LEN);
  await dom.resume();
  return { dom, hash };
}


/** The image's files, and the temporary files of a save still writing it (hidden names). */
const imageFiles = (file: string): string[] => {
  const base = path.basename(file);
  return fs
    .readdirSync(path.dirname(file))
    .filter((f) => f === base || f.startsWith(`${base}.`) || (isPartialImageName(f) && f.startsWith(`.${base}.`)))
    .sort();
};

const snapshot = (file: string): Map<string, string> =>
  new Map(imageFiles(file).map((f) => [f, crypto.createHash('sha256').update(fs.readFileSync(path.join(path.dirname(file), f))).digest('hex')]));

describe('multi-file parallel save (multifd)', () => {
  it.each([
    [1, 'none'],
    [2, 'none'],
    [4, 'none'],
    [2, 'zlib'],
    [4, 'zlib'],
    [2, 'zstd'],
    [4, 'zstd'],
  ])('keeps guest RAM with %i channel(s), compression %s', async (channels, compression) => {
    const { dom, hash } = await randomGuest();
    const file = path.join(env.workDir, `mf-${channels}-${compression}.img`);
    await dom.saveParametersFlags({ file, 'parallel.channels': channels, 'parallel.compression': compression as DomainSaveParams['parallel.compression'] }, 0);
    expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: 5 });
    const info = await readSaveImageHeader(file);
    expect(info.header.magic).toBe('LibvirtQemudSave');
    if (channels > 1) {
      expect(info.manifest).toMatchObject({ mode: 'files', channels, compression });
      expect(imageFiles(file)).toHaveLength(channels + 1);
    }
    await conn.restoreParams({ file }, SaveRestoreFlags.PAUSED);
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    await dom.destroy();
  }, 120000);

  it('refuses multifd compression for a single stream instead of ignoring it', async () => {
    const { dom } = await randomGuest();
    const file = path.join(env.workDir, 'single-zstd.img');
    const e = await errorOf(dom.saveParams({ file, 'parallel.channels': 1, 'parallel.compression': 'zstd' }));
    expect(e.code).toBe(ErrorCode.CONFIG_UNSUPPORTED);
    expect(imageFiles(file)).toEqual([]);
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    await dom.destroy();
  });

  it('reports bytes per channel in the completed job', async () => {
    const { dom } = await randomGuest();
    const file = path.join(env.workDir, 'stats.img');
    await dom.saveParams({ file, 'parallel.channels': 2 });
    const stats = await dom.getJobStats(1);
    const per = [1, 2].map((k) => Number(stats.params.find((p) => p.field === `parallel.channel.${k}.data_processed`)?.value ?? 0));
    expect(per[0] + per[1]).toBeGreaterThan(FILL_LEN / 2);
    await conn.restore(file);
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    await dom.destroy();
  }, 120000);

  describe('refuses a damaged image before the guest runs, and changes no file', () => {
    let file: string;
    let uuid: string;
    beforeAll(async () => {
      const { dom } = await randomGuest();
      uuid = dom.uuid;
      file = path.join(env.workDir, 'victim.img');
      await dom.saveParams({ file, 'parallel.channels': 2 });
    }, 120000);

    const damage: Array<[string, (f: string) => void, ErrorCode, RegExp]> = [
      ['a missing channel file', (f) => fs.renameSync(`${f}.2`, `${f}.2.away`), ErrorCode.SYSTEM_ERROR, /victim\.img\.2/],
      ['a truncated channel file', (f) => fs.truncateSync(`${f}.1`, 1000), ErrorCode.OPERATION_FAILED, /victim\.img\.1/],
      [
        'swapped channel files',
        (f) => {
          fs.renameSync(`${f}.1`, `${f}.tmp`);
          fs.renameSync(`${f}.2`, `${f}.1`);
          fs.renameSync(`${f}.tmp`, `${f}.2`);
        },
        ErrorCode.OPERATION_FAILED,
        /victim\.img\.[12]/,
      ],
      [
        'a flipped bit in a channel file',
        (f) => {
          const fd = fs.openSync(`${f}.2`, 'r+');
          const b = Buffer.alloc(1);
          const at = fs.fstatSync(fd).size - 4096;
          fs.readSync(fd, b, 0, 1, at);
          b[0] ^= 1;
          fs.writeSync(fd, b, 0, 1, at);
          fs.closeSync(fd);
        },
        ErrorCode.OPERATION_FAILED,
        /victim\.img\.2/,
      ],
    ];

    it.each(damage)('%s', async (_what, harm, code, names) => {
      const copy = path.join(env.workDir, `copy-${++seq}`);
      fs.mkdirSync(copy);
      for (const f of imageFiles(file)) fs.copyFileSync(path.join(env.workDir, f), path.join(copy, f));
      const target = path.join(copy, 'victim.img');
      harm(target);
      const before = snapshot(target);
      const e = await errorOf(conn.restore(target));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(names);
      expect(snapshot(target)).toEqual(before);
      const dom = await conn.lookupDomainByUUID(uuid);
      expect(await dom.isActive()).toBe(false);
    }, 120000);

    it('a channel count that disagrees with the image', async () => {
      const e = await errorOf(conn.restoreParams({ file, 'parallel.channels': 4 }));
      expect(e.code).toBe(ErrorCode.INVALID_ARG);
      expect(e.message).toContain('2 parallel channels');
    });
  });

  it('abort removes every file of the partial image and the guest runs again', async () => {
    const slow = await Connect.open('qemu:///session?save_max_bandwidth=4194304');
    try {
      const { dom: d } = await randomGuest();
      const dom = await slow.lookupDomainByUUID(d.uuid);
      const file = path.join(env.workDir, 'aborted.img');
      const saving = dom.saveParams({ file, 'parallel.channels': 2 });
      saving.catch(() => undefined);
      for (let i = 0; i < 500 && (await dom.getJobInfo()).dataProcessed === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(imageFiles(file).length).toBeGreaterThan(0);
      await dom.abortJob();
      expect((await errorOf(saving)).code).toBe(ErrorCode.OPERATION_ABORTED);
      expect(imageFiles(file)).toEqual([]);
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
      await dom.destroy();
    } finally {
      await slow.close();
    }
  }, 120000);
});

describe('single-file region save (x-ignore-shared)', () => {
  it('copies RAM in parallel regions, leaves zero pages as holes, and restores it', async () => {
    const { dom, hash } = await randomGuest(true);
    const file = path.join(env.workDir, 'region.img');
    await dom.saveParams({ file, 'parallel.channels': 4, 'parallel.mode': 'region' });
    const info = await readSaveImageHeader(file);
    expect(info.manifest).toMatchObject({ mode: 'region', channels: 4, ram: { size: RAM } });
    expect(imageFiles(file)).toEqual(['region.img']);
    expect(fs.statSync(file).blocks * 512).toBeLessThan(RAM);
    await conn.restoreParams({ file }, SaveRestoreFlags.PAUSED);
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    await dom.destroy();
  }, 120000);

  it('refuses a region image whose RAM bytes changed', async () => {
    const { dom } = await randomGuest(true);
    const file = path.join(env.workDir, 'region-bad.img');
    await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' });
    const ram = (await readSaveImageHeader(file)).manifest!.ram!;
    // Flip bits of the stored byte (writing a fixed value would leave it unchanged 1 time in 256).
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, ram.offset + FILL_AT + 12345);
    b[0] ^= 0x5a;
    fs.writeSync(fd, b, 0, 1, ram.offset + FILL_AT + 12345);
    fs.closeSync(fd);
    const before = snapshot(file);
    const e = await errorOf(conn.restore(file));
    expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
    expect(e.message).toContain('region-bad.img');
    expect(snapshot(file)).toEqual(before);
    expect(await dom.isActive()).toBe(false);
  }, 120000);

  it('is refused for a guest whose RAM is not a shared backend', async () => {
    const { dom } = await randomGuest(false);
    const e = await errorOf(dom.saveParams({ file: path.join(env.workDir, 'nope.img'), 'parallel.mode': 'region', 'parallel.channels': 2 }));
    expect(e.code).toBe(ErrorCode.OPERATION_UNSUPPORTED);
    expect(e.message).toContain('memoryBacking');
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    await dom.destroy();
  });
});

describe('a running guest keeps running after a parallel restore', () => {
  it.each([
    ['files', false],
    ['region', true],
  ])('the counter guest counts on from where it stopped (%s)', async (mode, shared) => {
    const xml = guestXML(`counter-${mode}`, shared, counterDisk(env.workDir));
    const dom = await conn.defineXML(xml);
    await dom.create();
    const counter = (): number => readGuestRam(qemuPidOf(dom.uuid)!, RAM, COUNTER_GPA, 4).readUInt32LE(0);
    const t0 = Date.now();
    while (counter() < 1000) {
      if (Date.now() - t0 > 20000) throw new Error('the counter guest never started counting');
      await new Promise((r) => setTimeout(r, 50));
    }
    const file = path.join(env.workDir, `counter-${mode}.img`);
    await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': mode as DomainSaveParams['parallel.mode'] });
    await conn.restoreParams({ file }, SaveRestoreFlags.PAUSED);
    const atRestore = counter();
    expect(atRestore).toBeGreaterThan(1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(counter()).toBe(atRestore);
    await dom.resume();
    const t1 = Date.now();
    while (counter() <= atRestore + 1000) {
      if (Date.now() - t1 > 20000) throw new Error('the restored guest does not count');
      await new Promise((r) => setTimeout(r, 50));
    }
    await dom.destroy();
  }, 120000);
});

describe('QEMU killed in the middle of a parallel save', () => {
  it('leaves no image, no channel file and no socket behind', async () => {
    const slow = await Connect.open('qemu:///session?save_max_bandwidth=4194304');
    try {
      const { dom: d } = await randomGuest();
      const dom = await slow.lookupDomainByUUID(d.uuid);
      const file = path.join(env.workDir, 'killed.img');
      const saving = dom.saveParams({ file, 'parallel.channels': 3 });
      saving.catch(() => undefined);
      for (let i = 0; i < 500 && (await dom.getJobInfo()).dataProcessed === 0; i++) await new Promise((r) => setTimeout(r, 20));
      process.kill(qemuPidOf(dom.uuid)!, 'SIGKILL');
      const e = await errorOf(saving);
      expect(e).toBeInstanceOf(VirError);
      expect(imageFiles(file)).toEqual([]);
      expect(fs.readdirSync(env.runDir).filter((f) => f.endsWith('.mig') || f.endsWith('.sock'))).toEqual([]);
      expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
    } finally {
      await slow.close();
    }
  }, 120000);
});

describe('capability detection', () => {
  it("refuses image_format 'sparse' naming the missing mapped-ram capability of QEMU 7.2", async () => {
    // Debian 12's own QEMU whichever QEMU this pass defaults to (TSVIRT_QEMU): it lacks mapped-ram.
    const dom = await conn.defineXML(guestXML(`par-${++seq}`, false, emulatorXML(SYSTEM_QEMU)));
    await dom.create();
    const file = path.join(env.workDir, 'sparse.img');
    const e = await errorOf(dom.saveParams({ file, image_format: 'sparse' }));
    expect(e.code).toBe(ErrorCode.OPERATION_UNSUPPORTED);
    expect(e.message).toMatch(/mapped-ram/);
    expect(imageFiles(file)).toEqual([]);
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    await dom.destroy();
  });
});

describe('instant restore of a region image (RAM mapped copy-on-write)', () => {
  it('runs the guest from the image without copying RAM, never writes the image, and guards it while mapped', async () => {
    const { dom, hash } = await randomGuest(true);
    const file = path.join(env.workDir, 'instant.img');
    await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' });
    const before = snapshot(file);
    await conn.restoreParams({ file, 'parallel.instant': true }, SaveRestoreFlags.PAUSED);
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    // The guest's writes land in private copies of the pages, never in the image.
    writeGuestRam(qemuPidOf(dom.uuid)!, RAM, FILL_AT, Buffer.alloc(1 << 20, 0xee));
    await dom.resume();
    expect(snapshot(file)).toEqual(before);
    const e = await errorOf(dom.saveParams({ file, 'parallel.mode': 'region', 'parallel.channels': 2 }));
    expect(e.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(e.message).toContain('parallel.instant');
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    await dom.destroy();
    // QEMU gone: the kernel dropped the loop device, the image is free again.
    for (let i = 0; i < 100 && execFileSync('losetup', ['-j', file], { encoding: 'utf8' }).trim() !== ''; i++) await new Promise((r) => setTimeout(r, 20));
    expect(execFileSync('losetup', ['-j', file], { encoding: 'utf8' }).trim()).toBe('');
  }, 120000);

  it('is refused for an image that is not a region image', async () => {
    const { dom } = await randomGuest();
    const file = path.join(env.workDir, 'not-region.img');
    await dom.saveParams({ file, 'parallel.channels': 2 });
    const e = await errorOf(conn.restoreParams({ file, 'parallel.instant': true }));
    expect(e.code).toBe(ErrorCode.OPERATION_UNSUPPORTED);
    expect(await dom.isActive()).toBe(false);
  }, 120000);
});
