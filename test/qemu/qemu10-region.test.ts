/**
 * Region mode and instant restore on both QEMUs (Debian 12's 7.2 and bookworm-backports' 10.0,
 * chosen per guest with `<emulator>`): guest memory survives, and the device-state stream QEMU
 * writes with x-ignore-shared stays small. On QEMU 10, x-ignore-shared skips only shared RAM in
 * a named file, so a memfd-backed guest would stream all its RAM again; tsvirt backs it with a
 * file in tmpfs. Where QEMU has memory-backend-file 'offset' (10.0), instant restore maps the
 * image itself (no loop device); on 7.2 it goes through a loop device.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, type Domain } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { readSaveImageHeader } from '../../src/conf/save-image';
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { fillRandom, pmemsaveHash } from '../helpers/qemu-guest';
import { SYSTEM_QEMU, emulatorXML, qemu10Binary } from '../helpers/qemu10';

const env = setupQemuEnv('qemu10-region');
const MIB = 1024 * 1024;
const RAM_MIB = 128;
const FILL_AT = 8 * MIB;
const FILL_LEN = 48 * MIB;
/** Device state of a small pc guest is a few hundred KB; RAM streamed again would be > 48 MiB. */
const DEVICE_STATE_MAX = 4 * MIB;
const MEMFD = "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>";
let conn: Connect;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
});
afterAll(async () => {
  await conn.close();
  teardownQemuEnv(env);
});

/** Size of the device-state stream of a region image (its manifest's channel 0). */
function deviceStateBytes(info: Awaited<ReturnType<typeof readSaveImageHeader>>): number {
  expect(info.manifest?.mode).toBe('region');
  const dev = info.manifest!.files.find((f) => f.channel === 0)!;
  return dev.length;
}

/** The memory-backend-file option QEMU `pid` was started with. */
function ramBackendOption(pid: number): string {
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
  return args.find((a) => a.startsWith('memory-backend-')) ?? '';
}

function loopDevicesOf(file: string): string[] {
  const real = fs.realpathSync(file);
  return fs
    .readdirSync('/sys/block')
    .filter((d) => d.startsWith('loop'))
    .filter((d) => {
      try {
        return fs.readFileSync(`/sys/block/${d}/loop/backing_file`, 'utf8').trim() === real;
      } catch {
        return false;
      }
    });
}

describe.each([
  { label: 'QEMU 7.2 (system)', binary: (): string => SYSTEM_QEMU, offsetMapping: false },
  { label: 'QEMU 10 (bookworm-backports)', binary: qemu10Binary, offsetMapping: true },
])('$label', ({ binary, offsetMapping }) => {
  let emulator: string;
  let dom: Domain;
  let hash: string;
  const name = `q10r-${offsetMapping ? 'ten' : 'sys'}-${process.pid}`;

  beforeAll(async () => {
    emulator = binary();
    dom = await conn.defineXML(smallGuestXML(name, RAM_MIB, emulatorXML(emulator), MEMFD));
    await dom.create();
    await dom.suspend();
    const pid = qemuPidOf(dom.uuid)!;
    expect(fs.readlinkSync(`/proc/${pid}/exe`)).toBe(fs.realpathSync(emulator));
    // Shared "memfd" RAM is a named tmpfs file, which every QEMU's x-ignore-shared skips.
    expect(ramBackendOption(pid)).toMatch(/^memory-backend-file,.*mem-path=\/dev\/shm\/.*share=on/);
    hash = fillRandom(pid, RAM_MIB * MIB, FILL_AT, FILL_AT + FILL_LEN);
  }, 120_000);
  afterAll(async () => {
    if (await dom.isActive()) await dom.destroy();
    await dom.undefine();
  });

  it('region save streams only device state and restores memory', async () => {
    const file = path.join(env.workDir, `${name}-region.img`);
    await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' });
    const info = await readSaveImageHeader(file);
    expect(deviceStateBytes(info)).toBeLessThan(DEVICE_STATE_MAX);
    await conn.restoreParams({ file });
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    await dom.suspend();
  }, 120_000);

  it(`instant restore maps the image ${offsetMapping ? 'at its offset (no loop device)' : 'through a loop device'} and keeps memory`, async () => {
    const file = path.join(env.workDir, `${name}-instant.img`);
    await dom.saveParams({ file, 'parallel.channels': 2, 'parallel.mode': 'region' });
    const info = await readSaveImageHeader(file);
    expect(deviceStateBytes(info)).toBeLessThan(DEVICE_STATE_MAX);
    const at = info.manifest!.ram!.offset + FILL_AT;
    const before = fs.readFileSync(file).subarray(at, at + 4096);
    await conn.restoreParams({ file, 'parallel.instant': true });
    const restored = await conn.lookupDomainByName(name);
    // Saved while paused: it comes back paused.
    expect((await restored.getState()).state).toBe(DomainState.PAUSED);
    const pid = qemuPidOf(dom.uuid)!;
    const backend = ramBackendOption(pid);
    if (offsetMapping) {
      expect(backend).toContain(`mem-path=${fs.realpathSync(file)}`);
      expect(backend).toContain(`offset=${info.manifest!.ram!.offset}`);
      expect(backend).toContain('readonly=on');
      expect(loopDevicesOf(file)).toEqual([]);
    } else {
      expect(backend).toMatch(/mem-path=\/dev\/loop\d+/);
    }
    expect(await pmemsaveHash(dom.uuid, FILL_AT, FILL_LEN, env.workDir)).toBe(hash);
    // The image is the guest's memory now: tsvirt refuses to overwrite it.
    await expect(restored.saveParams({ file })).rejects.toMatchObject({ message: expect.stringContaining('parallel.instant') });
    // The guest's writes stay private: the image's bytes are unchanged.
    fillRandom(pid, RAM_MIB * MIB, FILL_AT, FILL_AT + 4096);
    const fd = fs.openSync(file, 'r');
    const after = Buffer.alloc(4096);
    fs.readSync(fd, after, 0, 4096, at);
    fs.closeSync(fd);
    expect(after.equals(before)).toBe(true);
  }, 120_000);
});

describe('the default emulator', () => {
  it('is TSVIRT_QEMU for a guest whose XML names none, with -L for its own firmware', async () => {
    const q10 = qemu10Binary();
    const saved = process.env.TSVIRT_QEMU;
    process.env.TSVIRT_QEMU = q10;
    const dom = await conn.createXML(smallGuestXML(`q10-default-${process.pid}`, 64));
    try {
      const pid = qemuPidOf(dom.uuid)!;
      expect(fs.readlinkSync(`/proc/${pid}/exe`)).toBe(fs.realpathSync(q10));
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      const root = path.dirname(path.dirname(q10));
      expect(args[args.indexOf('-L') + 1]).toBe(path.join(root, 'share', 'qemu'));
    } finally {
      if (saved === undefined) delete process.env.TSVIRT_QEMU;
      else process.env.TSVIRT_QEMU = saved;
      await dom.destroy();
    }
  }, 120_000);
});
