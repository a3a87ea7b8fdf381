/**
 * Save images crossing between libvirt 9.0 and tsvirt, both ways, on the same XML (a guest with a
 * virtio disk and a user-mode NIC) and the same QEMU: libvirt saves and tsvirt restores; tsvirt
 * saves (raw and compressed single streams) and libvirt restores. The guest is the counter boot
 * sector on its disk, so "it continues" is observable: the counter keeps counting after the
 * restore. A random region written through /proc/PID/mem before the save must read back
 * identical from the other side's QEMU.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, type Domain } from '../../src';
import { SaveImageFormat } from '../../src/conf/save-image';
import { qemuPidOf } from '../../src/drivers/qemu';
import { counterDisk, expectContinued, expectCounting, fillWhilePaused, headerFormat, interopGuestXML, libvirtQemuPid, libvirtSavedGuest, MEMFD, removeRestored, virshOf } from '../helpers/interop-guest';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { runTool } from '../remote/run-tool';

const env = setupQemuEnv('libvirt-save-interop');
let lv: QemuLibvirtd;
let conn: Connect;
let disk: string;
const guestXML = (name: string, topLevel?: string) => interopGuestXML(name, disk, { topLevel });

beforeAll(async () => {
  lv = await startQemuLibvirtd();
  conn = await Connect.open('qemu:///session');
  disk = counterDisk(env.workDir);
}, 60000);

afterAll(async () => {
  await conn?.close();
  await lv?.stop();
  teardownQemuEnv(env);
});

/** libvirt's header codes of the formats used here. */
const FORMAT_CODES: Record<string, number> = { raw: 0, gzip: 1 };

describe('libvirt 9.0 saves, tsvirt restores', () => {
  for (const format of ['raw', 'gzip']) {
    it(`a ${format} image of a running guest continues in tsvirt with its memory`, async () => {
      const name = `lv2ts-${format}`;
      // libvirt 9.0 picks the format of `virsh save` from qemu.conf only.
      const daemon = format === 'raw' ? lv : await startQemuLibvirtd({ qemuConf: [`save_image_format = "${format}"`] });
      let dom: Domain | undefined;
      try {
        const { file, before } = await libvirtSavedGuest(daemon, env.workDir, name, guestXML(name));
        expect((await virshOf(daemon, 'domstate', name)).trim()).toBe('shut off');
        expect(headerFormat(file)).toBe(FORMAT_CODES[format]);

        await conn.restore(file);
        dom = await conn.lookupDomainByName(name);
        expect((await dom.getState()).state).toBe(DomainState.RUNNING);
        const tpid = qemuPidOf(dom.uuid)!;
        await expectContinued(tpid, before);
        // The disk and NIC of libvirt's XML are what tsvirt runs.
        const live = await dom.getXMLDesc();
        expect(live).toContain(disk);
        expect(live).toContain('52:54:00:3a:91:07');
      } finally {
        if (dom) await removeRestored(dom);
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
        expect(await virshOf(lv, 'save-image-dumpxml', file)).toContain(`<name>${name}</name>`);
        await virshOf(lv, 'restore', file);
        expect((await virshOf(lv, 'domstate', name)).trim()).toBe('running');
        await expectContinued(libvirtQemuPid(name), before);
        await virshOf(lv, 'destroy', name);
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
        await expectContinued(qemuPidOf(dom.uuid)!, before);
      } finally {
        if (await dom.isActive()) await dom.destroy();
        await dom.undefine();
      }
    }, 180000);
  }
});
