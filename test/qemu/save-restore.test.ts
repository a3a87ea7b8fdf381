/**
 * Real QEMU save/restore: guest RAM filled with random bytes survives every image format and
 * BYPASS_CACHE (compared with QEMU's own pmemsave), the image is libvirt's format v2, and a
 * running counter guest keeps counting from where it stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, RunningReason, PausedReason, SaveRestoreFlags, type Domain, type DomainSaveParams } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { readSaveImageHeader, SaveImageFormat } from '../../src/conf/save-image';
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { COUNTER_GPA, counterDisk, fillRandom, pmemsaveHash, readGuestRam } from '../helpers/qemu-guest';

const env = setupQemuEnv('qemu-save');
const MIB = 1024 * 1024;
const RAM = 64 * MIB;
const FILL_AT = 16 * MIB;
const FILL_LEN = 16 * MIB;
let conn: Connect;
let seq = 0;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
});
afterAll(async () => {
  await conn.close();
  teardownQemuEnv(env);
});

async function randomGuest(): Promise<{ dom: Domain; hash: string }> {
  // Persistent, so the domain outlives the save (a transient one is gone once saved).
  const dom = await conn.defineXML(smallGuestXML(`mem-${++seq}`, 64));
  await dom.create();
  await dom.suspend();
  const hash = fillRandom(qemuPidOf(dom.uuid)!, RAM, FILL_AT, FILL_AT + FILL_LEN);
  expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
  return { dom, hash };
}

describe('qemu save/restore keeps guest memory', () => {
  it.each([
    { name: 'raw', format: SaveImageFormat.RAW, flags: 0, label: 'raw through the page cache' },
    { name: 'raw', format: SaveImageFormat.RAW, flags: SaveRestoreFlags.BYPASS_CACHE, label: 'raw with BYPASS_CACHE' },
    { name: 'gzip', format: SaveImageFormat.GZIP, flags: 0, label: 'gzip' },
    { name: 'zstd', format: SaveImageFormat.ZSTD, flags: SaveRestoreFlags.BYPASS_CACHE, label: 'zstd with BYPASS_CACHE' },
    { name: 'xz', format: SaveImageFormat.XZ, flags: 0, label: 'xz' },
  ])('$label', async ({ name, format, flags }) => {
    const { dom, hash } = await randomGuest();
    const oldPid = qemuPidOf(dom.uuid);
    const file = path.join(env.workDir, `${dom.name}.img`);
    await dom.saveParams({ file, image_format: name as DomainSaveParams['image_format'] }, flags);
    expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: 5 /* SAVED */ });
    const info = await readSaveImageHeader(file);
    expect(info.header.format).toBe(format);
    expect(info.header.wasRunning).toBe(false);
    const stream = Buffer.alloc(4);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, stream, 0, 4, info.streamOffset);
    fs.closeSync(fd);
    if (format === SaveImageFormat.RAW) expect(stream.toString('latin1')).toBe('QEVM');
    else expect(stream.toString('latin1')).not.toBe('QEVM');
    // The random 16 MiB cannot compress: the image holds them.
    expect(info.fileSize).toBeGreaterThan(FILL_LEN);

    await conn.restoreFlags(file, null, flags);
    const restored = await conn.lookupDomainByName(dom.name);
    expect(await restored.getState()).toEqual({ state: DomainState.PAUSED, reason: PausedReason.MIGRATION });
    expect(qemuPidOf(dom.uuid)).not.toBe(oldPid);
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    await restored.destroy();
    await restored.undefine();
  }, 60000);
});

describe('a running guest', () => {
  it('keeps counting after save and restore', async () => {
    const dom = await conn.defineXML(smallGuestXML(`counter-${++seq}`, 64, counterDisk(env.workDir)));
    await dom.create();
    const counter = (): number => readGuestRam(qemuPidOf(dom.uuid)!, RAM, COUNTER_GPA, 4).readUInt32LE(0);
    const t0 = Date.now();
    while (counter() < 1000) {
      if (Date.now() - t0 > 20000) throw new Error('the counter guest never started counting');
      await new Promise((r) => setTimeout(r, 50));
    }
    const file = path.join(env.workDir, 'counter.save');
    await dom.save(file);
    expect((await readSaveImageHeader(file)).header.wasRunning).toBe(true);
    // What the image holds is the last value: the restored guest must start from it, not from 0.
    await conn.restoreFlags(file, null, SaveRestoreFlags.PAUSED);
    const atRestore = counter();
    expect(atRestore).toBeGreaterThan(1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(counter()).toBe(atRestore);
    await dom.resume();
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.UNPAUSED });
    const t1 = Date.now();
    while (counter() <= atRestore + 1000) {
      if (Date.now() - t1 > 10000) throw new Error('the restored guest does not count');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(counter()).toBeGreaterThan(atRestore);
    await dom.destroy();
    await dom.undefine();
  }, 60000);
});
