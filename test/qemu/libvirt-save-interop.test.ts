/**
 * Save images crossing between libvirt 9.0 and tsvirt, both ways, on the same XML (a guest with a
 * virtio disk and a user-mode NIC) and the same QEMU: libvirt saves and tsvirt restores; tsvirt
 * saves (raw and compressed single streams) and libvirt restores. The guest is the counter boot
 * sector on its disk, so "it continues" is observable: the counter keeps counting after the
 * restore. A random region written through /proc/PID/mem before the save must read back
 * identical from the other side's QEMU.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, type Domain } from '../../src';
import { SaveImageFormat } from '../../src/conf/save-image';
import { qemuPidOf } from '../../src/drivers/qemu';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { COUNTER_GPA, counterBootSector, fillRandom, readGuestRam } from '../helpers/qemu-guest';
import { runTool } from '../remote/run-tool';

const RAM_MIB = 64;
const RAM = RAM_MIB << 20;
const FILL_AT = 8 << 20;
const FILL_LEN = 8 << 20;
const MEMFD = "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>";

const env = setupQemuEnv('libvirt-save-interop');
let lv: QemuLibvirtd;
let conn: Connect;
let disk: string;

function guestXML(name: string, topLevel = ''): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>${RAM_MIB}</memory>${topLevel}<vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
<devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
<interface type='user'><mac address='52:54:00:3a:91:07'/><model type='virtio'/></interface>
</devices></domain>`;
}

beforeAll(async () => {
  lv = await startQemuLibvirtd();
  conn = await Connect.open('qemu:///session');
  disk = path.join(env.workDir, 'counter.img');
  const img = Buffer.alloc(1 << 20);
  counterBootSector().copy(img);
  fs.writeFileSync(disk, img);
}, 60000);

afterAll(async () => {
  await conn?.close();
  await lv?.stop();
  teardownQemuEnv(env);
});

const virsh = async (uri: string, ...args: string[]) => {
  const r = await runTool('virsh', ['-c', uri, ...args], { timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};

/** The pid of the QEMU running guest `name` (libvirt's: `-name guest=NAME,...`). */
function libvirtQemuPid(name: string): number {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('-name');
    if (i >= 0 && argv[i + 1]?.startsWith(`guest=${name},`)) return Number(p);
  }
  throw new Error(`no libvirt QEMU runs ${name}`);
}

/** libvirt's header `compressed` codes of the formats used here. */
const FORMAT_CODES: Record<string, number> = { raw: 0, gzip: 1 };

/** The `compressed` field of a libvirt save header (after magic, version, data_len, was_running). */
function headerFormat(file: string): number {
  const head = fs.readFileSync(file).subarray(0, 32);
  expect(head.subarray(0, 16).toString('latin1')).toBe('LibvirtQemudSave');
  return head.readUInt32LE(28);
}

const counterOf = (pid: number) => readGuestRam(pid, RAM, COUNTER_GPA, 4).readUInt32LE(0);
const regionHash = (pid: number) => crypto.createHash('sha256').update(readGuestRam(pid, RAM, FILL_AT, FILL_LEN)).digest('hex');

/** Waits until the counter of `pid` has moved past `from`: the guest's CPU runs its loop. */
async function expectCounting(pid: number, from: number): Promise<void> {
  const end = Date.now() + 20000;
  while (counterOf(pid) === from) {
    if (Date.now() > end) throw new Error(`counter of QEMU ${pid} stays at ${from}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pauses the guest of `pid`, fills the test region, resumes; returns the region's hash and the counter then. */
async function fillWhilePaused(pause: () => Promise<unknown>, resume: () => Promise<unknown>, pid: number): Promise<{ hash: string; counter: number }> {
  await pause();
  const hash = fillRandom(pid, RAM, FILL_AT, FILL_AT + FILL_LEN);
  const counter = counterOf(pid);
  await resume();
  return { hash, counter };
}

describe('libvirt 9.0 saves, tsvirt restores', () => {
  for (const format of ['raw', 'gzip']) {
    it(`a ${format} image of a running guest continues in tsvirt with its memory`, async () => {
      const name = `lv2ts-${format}`;
      // libvirt 9.0 picks the format of `virsh save` from qemu.conf only.
      const daemon = format === 'raw' ? lv : await startQemuLibvirtd([`save_image_format = "${format}"`]);
      let dom: Domain | undefined;
      try {
        const xmlFile = path.join(env.workDir, `${name}.xml`);
        fs.writeFileSync(xmlFile, guestXML(name));
        await virsh(daemon.uri, 'define', xmlFile);
        await virsh(daemon.uri, 'start', name);
        const pid = libvirtQemuPid(name);
        await expectCounting(pid, 0);
        const before = await fillWhilePaused(() => virsh(daemon.uri, 'suspend', name), () => virsh(daemon.uri, 'resume', name), pid);
        const file = path.join(env.workDir, `${name}.save`);
        await virsh(daemon.uri, 'save', name, file);
        expect((await virsh(daemon.uri, 'domstate', name)).trim()).toBe('shut off');
        expect(headerFormat(file)).toBe(FORMAT_CODES[format]);

        await conn.restore(file);
        dom = await conn.lookupDomainByName(name);
        expect((await dom.getState()).state).toBe(DomainState.RUNNING);
        const tpid = qemuPidOf(dom.uuid)!;
        expect(regionHash(tpid)).toBe(before.hash);
        // The counter carried over (it only grows) and keeps growing in tsvirt's QEMU.
        const c = counterOf(tpid);
        expect(c).toBeGreaterThanOrEqual(before.counter);
        await expectCounting(tpid, c);
        // The disk and NIC of libvirt's XML are what tsvirt runs.
        const live = await dom.getXMLDesc();
        expect(live).toContain(disk);
        expect(live).toContain('52:54:00:3a:91:07');
      } finally {
        if (dom) {
          // A restored guest is transient: it is gone once destroyed.
          const persistent = await dom.isPersistent();
          if (await dom.isActive()) await dom.destroy();
          if (persistent) await dom.undefine();
        }
        await runTool('virsh', ['-c', daemon.uri, 'undefine', name]);
        if (daemon !== lv) await daemon.stop();
      }
    }, 180000);
  }
});

describe('tsvirt saves, libvirt 9.0 restores', () => {
  for (const format of ['raw', 'gzip'] as const) {
    it(`a ${format} single-stream image continues in libvirt with its memory`, async () => {
      const name = `ts2lv-${format}`;
      const dom = await conn.defineXML(guestXML(name));
      try {
        await dom.create();
        const pid = qemuPidOf(dom.uuid)!;
        await expectCounting(pid, 0);
        const before = await fillWhilePaused(() => dom.suspend(), () => dom.resume(), pid);
        const file = path.join(env.workDir, `${name}.save`);
        await dom.saveParams(format === 'raw' ? { file } : { file, image_format: format });
        expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
        expect(headerFormat(file)).toBe(FORMAT_CODES[format]);

        // libvirt reads tsvirt's header (its XML, the compression format) and runs the guest.
        expect(await virsh(lv.uri, 'save-image-dumpxml', file)).toContain(`<name>${name}</name>`);
        await virsh(lv.uri, 'restore', file);
        expect((await virsh(lv.uri, 'domstate', name)).trim()).toBe('running');
        const lpid = libvirtQemuPid(name);
        expect(regionHash(lpid)).toBe(before.hash);
        const c = counterOf(lpid);
        expect(c).toBeGreaterThanOrEqual(before.counter);
        await expectCounting(lpid, c);
        await virsh(lv.uri, 'destroy', name);
      } finally {
        if (await dom.isActive()) await dom.destroy();
        await dom.undefine();
      }
    }, 180000);
  }
});

describe('tsvirt parallel images and libvirt 9.0', () => {
  for (const [label, params] of [['files', { 'parallel.channels': 2 }], ['region', { 'parallel.channels': 2, 'parallel.mode': 'region' }]] as const) {
    it(`libvirt refuses a ${label} image (its main file is not the whole guest); tsvirt restores it`, async () => {
      const name = `ts2lv-${label}`;
      const dom = await conn.defineXML(guestXML(name, MEMFD));
      try {
        await dom.create();
        const pid = qemuPidOf(dom.uuid)!;
        const before = await fillWhilePaused(() => dom.suspend(), () => dom.resume(), pid);
        const file = path.join(env.workDir, `${name}.save`);
        await dom.saveParams({ file, ...params });
        expect(headerFormat(file)).toBe(SaveImageFormat.TSVIRT_PARALLEL);
        const r = await runTool('virsh', ['-c', lv.uri, 'restore', file], { timeoutMs: 120000 });
        expect(r.code).toBe(1);
        // libvirt 9.0's words; 11.x says "unsupported save image format: N".
        expect(r.stderr).toMatch(new RegExp(`(Invalid compressed save format|unsupported save image format:) ${SaveImageFormat.TSVIRT_PARALLEL}`));
        expect((await runTool('virsh', ['-c', lv.uri, 'list', '--all', '--name'])).stdout.trim()).toBe('');

        // An image of an earlier tsvirt said raw; its manifest still tells tsvirt the layout.
        const fd = fs.openSync(file, 'r+');
        const word = Buffer.alloc(4);
        fs.writeSync(fd, word, 0, 4, 28);
        fs.closeSync(fd);
        await conn.restore(file);
        expect(regionHash(qemuPidOf(dom.uuid)!)).toBe(before.hash);
      } finally {
        if (await dom.isActive()) await dom.destroy();
        await dom.undefine();
      }
    }, 180000);
  }
});
