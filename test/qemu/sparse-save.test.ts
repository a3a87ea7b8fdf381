/**
 * libvirt 11.2+'s sparse image format (QEMU mapped-ram) on QEMU 10: header format 6, QEMU's
 * stream at the data offset, zero pages left as holes, N multifd channels, BYPASS_CACHE through
 * direct-io; tsvirt's checksums in the header padding are checked by save-image-verify and
 * before a restored guest runs. On QEMU 7.2 (no mapped-ram) the format is refused naming it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, ErrorCode, SaveRestoreFlags, verifySaveImage, type Domain } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { readSaveImageHeader, SaveImageFormat } from '../../src/conf/save-image';
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { fillRandom, pmemsaveHash } from '../helpers/qemu-guest';
import { SYSTEM_QEMU, emulatorXML, qemu10Binary } from '../helpers/qemu10';

const env = setupQemuEnv('sparse-save');
const MIB = 1024 * 1024;
const RAM_MIB = 128;
const FILL_AT = 8 * MIB;
const FILL_LEN = 40 * MIB;
let conn: Connect;
let dom: Domain;
let hash: string;
const name = `sparse-${process.pid}`;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
  dom = await conn.defineXML(smallGuestXML(name, RAM_MIB, emulatorXML(qemu10Binary())));
  await dom.create();
  await dom.suspend();
  hash = fillRandom(qemuPidOf(dom.uuid)!, RAM_MIB * MIB, FILL_AT, FILL_AT + FILL_LEN);
}, 300_000);
afterAll(async () => {
  if (await dom.isActive()) await dom.destroy();
  await dom.undefine();
  await conn.close();
  teardownQemuEnv(env);
});

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.includes('tsvirt-partial'));
}

describe('sparse (mapped-ram) images on QEMU 10', () => {
  it.each([
    { label: '2 channels', channels: 2, flags: 0 },
    { label: '4 channels with BYPASS_CACHE (direct-io)', channels: 4, flags: SaveRestoreFlags.BYPASS_CACHE },
    { label: 'one channel (mapped-ram without multifd)', channels: 1, flags: 0 },
  ])('$label: memory survives, zero pages are holes, the manifest verifies', async ({ channels, flags }) => {
    const file = path.join(env.workDir, `${name}-${channels}-${flags}.img`);
    await dom.saveParams({ file, image_format: 'sparse', 'parallel.channels': channels }, flags);
    expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
    const info = await readSaveImageHeader(file);
    expect(info.header.format).toBe(SaveImageFormat.SPARSE);
    expect(info.header.version).toBe(2);
    expect(info.manifest).toMatchObject({ mode: 'sparse', channels });
    // QEMU's stream starts right at the data offset, as libvirt 11.3 lays it out.
    const magic = Buffer.alloc(4);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, magic, 0, 4, info.streamOffset);
    fs.closeSync(fd);
    expect(magic.toString('latin1')).toBe('QEVM');
    // 128 MiB of RAM, 40 MiB of it random: the zero pages take no disk space.
    const st = fs.statSync(file);
    expect(st.size).toBeGreaterThan(RAM_MIB * MIB);
    expect(st.blocks * 512).toBeLessThan(FILL_LEN + 16 * MIB);
    const report = await verifySaveImage(file);
    expect(report.pieces.length).toBe(channels);
    expect(report.pieces.reduce((n, p) => n + p.length, 0)).toBe(st.size - info.streamOffset);

    await conn.restoreParams({ file, 'parallel.channels': channels }, flags);
    expect((await dom.getState()).state).toBe(DomainState.PAUSED);
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    expect(leftovers(env.workDir)).toEqual([]);
  }, 180_000);

  it('a damaged page region is refused before the guest runs, and by save-image-verify', async () => {
    const file = path.join(env.workDir, `${name}-damaged.img`);
    await dom.saveParams({ file, image_format: 'sparse', 'parallel.channels': 2 });
    const info = await readSaveImageHeader(file);
    // Inside the random pages: the pages of RAM block pc.ram start within a few MiB of the stream.
    const at = info.streamOffset + FILL_AT + 16 * MIB;
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    await expect(verifySaveImage(file)).rejects.toMatchObject({ code: ErrorCode.OPERATION_FAILED, message: expect.stringContaining(file) });
    await expect(conn.restoreParams({ file, 'parallel.channels': 2 })).rejects.toMatchObject({
      code: ErrorCode.OPERATION_FAILED,
      message: expect.stringContaining(`checksum mismatch in save image file '${file}'`),
    });
    expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
    expect(qemuPidOf(dom.uuid)).toBeFalsy();
    // The image is left as it was (the caller may still want it).
    expect(fs.existsSync(file)).toBe(true);
    await dom.create();
    await dom.suspend();
    hash = fillRandom(qemuPidOf(dom.uuid)!, RAM_MIB * MIB, FILL_AT, FILL_AT + FILL_LEN);
  }, 180_000);
});

describe('sparse on QEMU 7.2', () => {
  it("is refused with OPERATION_UNSUPPORTED naming 'mapped-ram'; the guest keeps running", async () => {
    const old = await conn.defineXML(smallGuestXML(`${name}-72`, 64, emulatorXML(SYSTEM_QEMU)));
    try {
      await old.create();
      const file = path.join(env.workDir, `${name}-72.img`);
      await expect(old.saveParams({ file, image_format: 'sparse', 'parallel.channels': 2 })).rejects.toMatchObject({
        code: ErrorCode.OPERATION_UNSUPPORTED,
        message: expect.stringContaining("'mapped-ram'"),
      });
      expect((await old.getState()).state).toBe(DomainState.RUNNING);
      expect(fs.existsSync(file)).toBe(false);
      expect(leftovers(env.workDir)).toEqual([]);
    } finally {
      if (await old.isActive()) await old.destroy();
      await old.undefine();
    }
  }, 120_000);
});
