/**
 * tsvirt's domain XML against libvirt 9.0's for the same input: the inactive dumpxml of every
 * corpus file after define (libvirt's defaults, element by element), the errors for bad XML
 * (same code, domain and message, nothing defined or started), and for a running guest the
 * PCI devices QEMU itself reports (`query-pci`: slot, function, device ids) and the pty path the
 * live XML shows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect } from '../../src';
import { qemuMonitorCommand } from '../../src/drivers/qemu';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { createFixtureFiles, fixtureNames, fixtureXML } from '../helpers/domain-fixtures';
import { qemuPidsUnder, setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { virErrorOf } from '../helpers/vir-error-of';
import { runTool } from '../remote/run-tool';

const env = setupQemuEnv('libvirt-dumpxml');
let lv: QemuLibvirtd;
let ts: Connect;
let lvConn: Connect;

beforeAll(async () => {
  lv = await startQemuLibvirtd();
  createFixtureFiles(env.workDir);
  ts = await Connect.open('qemu:///session');
  lvConn = await Connect.open(lv.uri);
}, 60000);
afterAll(async () => {
  await lvConn?.close();
  await ts?.close();
  await lv?.stop();
  teardownQemuEnv(env);
});

const virsh = (...args: string[]) => runTool('virsh', ['-c', lv.uri, ...args], { timeoutMs: 60000 });

describe('dumpxml after define: tsvirt and libvirt 9.0', () => {
  it.each(fixtureNames())('%s', async (name) => {
    const guest = `tsv-dump-${name}`;
    const xml = fixtureXML(name, guest, env.workDir);
    const theirs = await lvConn.defineXML(xml);
    const ours = await ts.defineXML(xml);
    try {
      expect(await ours.getXMLDesc(2 /* INACTIVE */)).toBe(await theirs.getXMLDesc(2));
      // Defining libvirt's output again changes nothing (the defaults are idempotent).
      await ts.defineXML(await theirs.getXMLDesc(2));
      expect(await ours.getXMLDesc(2)).toBe(await theirs.getXMLDesc(2));
    } finally {
      await ours.undefine();
      await theirs.undefine();
    }
  }, 60000);

  it('generates libvirt-style MAC addresses, kept across redefinition', async () => {
    const xml = `<domain type='qemu'><name>tsv-dump-mac</name><memory unit='MiB'>64</memory><os><type>hvm</type></os><devices><interface type='user'/><interface type='user'/></devices></domain>`;
    const dom = await ts.defineXML(xml);
    const out = await dom.getXMLDesc(0);
    const macs = [...out.matchAll(/<mac address='([^']+)'\/>/g)].map((m) => m[1]);
    expect(macs).toHaveLength(2);
    for (const m of macs) expect(m).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(new Set(macs).size).toBe(2);
    expect(out).toContain("<model type='rtl8139'/>");
    const conn2 = await Connect.open('qemu:///session');
    expect(await (await conn2.lookupDomainByName('tsv-dump-mac')).getXMLDesc(0)).toBe(out);
    await conn2.close();
    await dom.undefine();
  });
});

/** Both sides' error for defining `xml`: same code, domain and message; nothing defined. */
async function sameDefineError(xml: string, name: string): Promise<void> {
  const mine = await virErrorOf(ts.defineXML(xml));
  const theirs = await virErrorOf(lvConn.defineXML(xml));
  expect({ code: mine.code, domain: mine.domain, message: mine.message }).toEqual({ code: theirs.code, domain: theirs.domain, message: theirs.message });
  expect((await virErrorOf(ts.lookupDomainByName(name))).code).toBe(ErrorCode.NO_DOMAIN);
}

describe('bad XML: libvirt\'s errors, nothing defined or started', () => {
  const nicXml = (name: string, nics: string) => `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os><devices>${nics}</devices></domain>`;

  it('malformed and multicast MAC addresses', async () => {
    await sameDefineError(nicXml('tsv-bad-mac', "<interface type='user'><mac address='52:54:00:zz:00:01'/></interface>"), 'tsv-bad-mac');
    await sameDefineError(nicXml('tsv-mc-mac', "<interface type='user'><mac address='01:54:00:00:00:01'/></interface>"), 'tsv-mc-mac');
  });

  it('a PCI address used twice', async () => {
    const addr = "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>";
    await sameDefineError(nicXml('tsv-dup-pci', `<interface type='user'>${addr}</interface><memballoon model='virtio'>${addr}</memballoon>`), 'tsv-dup-pci');
  });

  it('a missing disk image: the start fails before any QEMU runs, as libvirt', async () => {
    const xml = nicXml('tsv-no-disk', `<disk type='file' device='disk'><source file='${env.workDir}/missing.qcow2'/><target dev='vda' bus='virtio'/></disk>`);
    const mine = await ts.defineXML(xml);
    const theirs = await lvConn.defineXML(xml);
    const a = await virErrorOf(mine.create());
    const b = await virErrorOf(theirs.create());
    expect({ code: a.code, domain: a.domain, message: a.message }).toEqual({ code: b.code, domain: b.domain, message: b.message });
    expect(a.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(a.domain).toBe(ErrorDomain.STORAGE);
    expect(qemuPidsUnder(env.root)).toEqual([]);
    await mine.undefine();
    await theirs.undefine();
  });

  it('an element tsvirt does not run is refused naming it, before any process starts', async () => {
    const e = await virErrorOf(ts.defineXML(nicXml('tsv-sound', "<sound model='ich6'/>")));
    expect(e.code).toBe(ErrorCode.CONFIG_UNSUPPORTED);
    expect(e.message).toBe('unsupported configuration: device <sound> is not supported by the QEMU driver');
    const top = await virErrorOf(ts.createXML(nicXml('tsv-sound', '').replace('</devices>', '</devices><numatune><memory mode="strict" nodeset="0"/></numatune>'), 0));
    expect(top.message).toContain('element <numatune> is not supported');
    // libvirt's default cgroup partition is what every guest gets; another one is refused.
    const part = await virErrorOf(ts.createXML(nicXml('tsv-sound', '').replace('</devices>', '</devices><resource><partition>/tenants/a</partition></resource>'), 0));
    expect(part.code).toBe(ErrorCode.CONFIG_UNSUPPORTED);
    expect(part.message).toContain("resource partition '/tenants/a' is not supported");
    expect(qemuPidsUnder(env.root)).toEqual([]);
  });
});

interface PciDevice {
  slot: number;
  function: number;
  class_info: { class: number };
  id: { vendor: number; device: number };
  qdev_id: string;
}

/** The devices of bus 0 as QEMU reports them, sorted by slot and function. */
function pciDevices(reply: unknown): Array<Record<string, unknown>> {
  const bus = (reply as Array<{ bus: number; devices: PciDevice[] }>).find((b) => b.bus === 0)!;
  return bus.devices
    .map((d) => ({ slot: d.slot, fn: d.function, class: d.class_info.class, vendor: d.id.vendor, device: d.id.device, id: d.qdev_id }))
    .sort((x, y) => x.slot - y.slot || x.fn - y.fn);
}

describe('a running guest: the same PCI devices as libvirt\'s, the pty in the live XML', () => {
  it('devices.xml started by both (paused): query-pci matches, console path is the pty QEMU opened', async () => {
    const name = 'tsv-live-devices';
    const xml = fixtureXML('devices', name, env.workDir).replace(/<channel[\s\S]*?<\/channel>/, '');
    const file = path.join(env.workDir, 'live.xml');
    fs.writeFileSync(file, xml);
    const started = await virsh('create', file, '--paused');
    expect(started.stderr).toBe('');
    // Same guest, its own name, uuid and disk copy (QEMU locks an image against a second writer).
    fs.copyFileSync(path.join(env.workDir, 'sys.qcow2'), path.join(env.workDir, 'sys-ts.qcow2'));
    const ourXml = xml.replace(`<name>${name}</name>`, `<name>${name}-ts</name>`)
      .replace('c7a5fdbd-cdaf-9455-926a-d65c16db1805', 'c7a5fdbd-cdaf-9455-926a-d65c16db18f5')
      .replace('sys.qcow2', 'sys-ts.qcow2');
    const dom = await ts.createXML(ourXml, 1 /* START_PAUSED */);
    try {
      const theirs = JSON.parse((await virsh('qemu-monitor-command', name, '{"execute":"query-pci"}')).stdout).return;
      const ours = await qemuMonitorCommand('c7a5fdbd-cdaf-9455-926a-d65c16db18f5', 'query-pci');
      expect(pciDevices(ours)).toEqual(pciDevices(theirs));
      const live = await dom.getXMLDesc(0);
      const chardevs = (await qemuMonitorCommand('c7a5fdbd-cdaf-9455-926a-d65c16db18f5', 'query-chardev')) as Array<{ label: string; filename: string }>;
      const pty = chardevs.find((c) => c.label === 'charserial0')!.filename.replace(/^pty:/, '');
      expect(pty).toMatch(/^\/dev\/pts\/\d+$/);
      expect(live).toContain(`<console type='pty' tty='${pty}'>`);
      expect(live).toContain(`<source path='${pty}'/>`);
    } finally {
      await dom.destroy();
      await virsh('destroy', name);
    }
  }, 120000);
});
