/**
 * `<interface type='ethernet'>` and `<interface type='bridge'>` on real QEMU guests, as root:
 * the test makes its own bridge and tap (unique names, deleted after). A guest's NIC is on the
 * bridge (`ip link show master BR`; the Linux test guest's DHCP requests arrive on the bridge
 * from its MAC, caught by frame-sniffer.py), QEMU itself holds each tap (its fd's `iff:` in
 * /proc/PID/fdinfo), the tap tsvirt named is libvirt's `vnetN` with the guest's MAC behind
 * 0xfe, the live XML names it and the inactive one does not; and no tap tsvirt named outlives
 * its guest: after destroy, after failed starts and across a save and restore. The errors for a
 * missing bridge and a missing unmanaged tap are libvirt 9.0's (private libvirtd as the oracle).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, ErrorCode, type Domain } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { qemuPidsUnder, setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { virErrorOf } from '../helpers/vir-error-of';
import { bootLinuxGuest, ensureLinuxGuest, removeLinuxGuest } from '../helpers/linux-guest';
import { waitFor } from '../../src/testing/wait';

const env = setupQemuEnv('tap-nics');
const tag = (process.pid % 100000).toString(36);
const BR = `tsvbr${tag}`;
const TAP = `tsvtp${tag}`;
let conn: Connect;
let lv: QemuLibvirtd;
let lvConn: Connect;

function ipLink(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/** Names of the links whose master is `bridge`. */
function portsOf(bridge: string): string[] {
  return ipLink('-o', 'link', 'show', 'master', bridge).split('\n').filter(Boolean).map((l) => l.split(': ')[1].split('@')[0]);
}

function linkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

/** The tap names QEMU process `pid` holds open (the `iff:` line of each tun fd). */
function tapsHeldBy(pid: number): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    const m = /^iff:\s*(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (m) out.push(m[1]);
  }
  return out.sort();
}

/** The `<target dev>` of each interface in `xml`, in order (undefined when it has none). */
function targetDevs(xml: string): Array<string | undefined> {
  return [...xml.matchAll(/<interface[\s\S]*?<\/interface>/g)].map((m) => /<target dev='([^']+)'/.exec(m[0])?.[1]);
}

const nicXml = (bridge: string) => `
  <interface type='bridge'><mac address='52:54:00:7a:00:01'/><source bridge='${bridge}'/><model type='virtio'/></interface>
  <interface type='ethernet'><mac address='52:54:00:7a:00:02'/><model type='e1000'/></interface>
  <interface type='ethernet'><mac address='52:54:00:7a:00:03'/><target dev='${TAP}' managed='no'/><model type='rtl8139'/></interface>`;

beforeAll(async () => {
  ipLink('link', 'add', BR, 'type', 'bridge');
  ipLink('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  conn = await Connect.open('qemu:///session');
  lv = await startQemuLibvirtd();
  lvConn = await Connect.open(lv.uri);
}, 60000);

afterAll(async () => {
  await conn?.close();
  await lvConn?.close();
  await lv?.stop();
  teardownQemuEnv(env);
  for (const name of [BR, TAP]) if (linkExists(name)) ipLink('link', 'del', name);
});

/** Starts the guest and returns the names of the two taps tsvirt made (bridge port, ethernet). */
async function startAndCheck(dom: Domain): Promise<[string, string]> {
  const live = await dom.getXMLDesc(0);
  const [onBridge, eth, unmanaged] = targetDevs(live) as string[];
  expect(onBridge).toMatch(/^vnet\d+$/);
  expect(eth).toMatch(/^vnet\d+$/);
  expect(unmanaged).toBe(TAP);
  expect(live).toContain(`<target dev='${TAP}' managed='no'/>`);
  expect(portsOf(BR)).toEqual([onBridge]);
  expect(tapsHeldBy(qemuPidOf(dom.uuid)!)).toEqual([onBridge, eth, TAP].sort());
  expect(fs.readFileSync(`/sys/class/net/${onBridge}/address`, 'utf8').trim()).toBe('fe:54:00:7a:00:01');
  expect(fs.readFileSync(`/sys/class/net/${eth}/address`, 'utf8').trim()).toBe('fe:54:00:7a:00:02');
  expect(fs.readFileSync(`/sys/class/net/${onBridge}/operstate`, 'utf8').trim()).not.toBe('down');
  return [onBridge, eth];
}

describe('tap NICs on a real QEMU guest', () => {
  it('bridge and ethernet NICs: on the bridge, held by QEMU, gone after destroy', async () => {
    const dom = await conn.defineXML(smallGuestXML('tap-nics-a', 64, nicXml(BR)));
    try {
      await dom.create();
      const taps = await startAndCheck(dom);
      expect(targetDevs(await dom.getXMLDesc(2 /* INACTIVE */))).toEqual([undefined, undefined, TAP]);
      await dom.destroy();
      for (const t of taps) expect(linkExists(t)).toBe(false);
      expect(portsOf(BR)).toEqual([]);
      // The unmanaged tap is the test's: still there, never added to anything.
      expect(linkExists(TAP)).toBe(true);
      expect(targetDevs(await dom.getXMLDesc(0))).toEqual([undefined, undefined, TAP]);
    } finally {
      await dom.destroy().catch(() => undefined);
      await dom.undefine();
    }
  }, 60000);

  it('save and restore: the restored guest gets its taps again, and the saved one left none', async () => {
    const dom = await conn.defineXML(smallGuestXML('tap-nics-b', 64, nicXml(BR)));
    const file = path.join(env.workDir, 'tap.save');
    try {
      await dom.create();
      const before = await startAndCheck(dom);
      await dom.save(file);
      expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
      for (const t of before) expect(linkExists(t)).toBe(false);
      expect(portsOf(BR)).toEqual([]);
      await conn.restore(file);
      expect((await dom.getState()).state).toBe(DomainState.RUNNING);
      const after = await startAndCheck(dom);
      await dom.destroy();
      for (const t of after) expect(linkExists(t)).toBe(false);
      expect(portsOf(BR)).toEqual([]);
    } finally {
      await dom.destroy().catch(() => undefined);
      await dom.undefine();
    }
  }, 90000);

  it("the Linux guest's NIC on the bridge: its DHCP requests reach the bridge from its MAC", async () => {
    ipLink('link', 'set', BR, 'up');
    const mac = '52:54:00:7a:02:01';
    // Frames the bridge receives, caught with a packet socket on it: the guest's eth0 is on BR.
    const sniffer = spawn('python3', [path.join(__dirname, 'frame-sniffer.py'), BR, mac, '90'], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    sniffer.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    const exited = new Promise<void>((r) => sniffer.once('exit', () => r()));
    await waitFor(() => lines.length > 0, 10000, 'the frame sniffer');
    const nicXml = `<interface type='bridge'><mac address='${mac}'/><source bridge='${BR}'/><model type='virtio'/></interface>`;
    const guest = await bootLinuxGuest(conn, { name: 'tap-nics-linux', files: ensureLinuxGuest(), dir: env.workDir, mib: 128, nicXml });
    let tap = '';
    try {
      tap = targetDevs(await guest.dom.getXMLDesc(0))[0]!;
      expect(portsOf(BR)).toEqual([tap]);
      // eth0 was there and asked for a lease; nothing on the test's bridge answers.
      expect(guest.ready.net).toBe('eth0-no-lease');
      await exited;
      expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ found: true, dhcp: true });
    } finally {
      sniffer.kill();
      await removeLinuxGuest(guest);
    }
    expect(linkExists(tap)).toBe(false);
  }, 150000);

  it('failed starts leave no QEMU and no tap', async () => {
    const vnetsBefore = fs.readdirSync('/sys/class/net').filter((n) => n.startsWith('vnet')).sort();
    // 'lo' exists but is no bridge: QEMU has created the taps when joining the bridge fails.
    const notBridge = await conn.defineXML(smallGuestXML('tap-nics-c', 64, nicXml('lo')));
    const e = await virErrorOf(notBridge.create());
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(e.message).toMatch(/^Unable to add bridge lo port vnet\d+: /);
    expect((await notBridge.getState()).state).toBe(DomainState.SHUTOFF);
    expect(targetDevs(await notBridge.getXMLDesc(0))).toEqual([undefined, undefined, TAP]);
    await notBridge.undefine();
    expect(qemuPidsUnder(env.root)).toEqual([]);
    expect(fs.readdirSync('/sys/class/net').filter((n) => n.startsWith('vnet')).sort()).toEqual(vnetsBefore);
    expect(linkExists(TAP)).toBe(true);
  }, 60000);
});

describe("start errors: libvirt's for the same XML", () => {
  async function sameStartError(name: string, nics: string): Promise<void> {
    const xml = smallGuestXML(name, 64, nics);
    const mine = await conn.defineXML(xml);
    const theirs = await lvConn.defineXML(xml);
    try {
      const a = await virErrorOf(mine.create());
      const b = await virErrorOf(theirs.create());
      expect({ code: a.code, domain: a.domain, message: a.message }).toEqual({ code: b.code, domain: b.domain, message: b.message });
      expect(qemuPidsUnder(env.root)).toEqual([]);
    } finally {
      await mine.undefine();
      await theirs.undefine();
    }
  }

  it('a bridge that does not exist', async () => {
    await sameStartError('tap-nics-nobr', `<interface type='bridge'><source bridge='${BR}x'/><model type='virtio'/></interface>`);
  }, 60000);

  it("a managed='no' tap that does not exist", async () => {
    await sameStartError('tap-nics-notap', `<interface type='ethernet'><target dev='${TAP}x' managed='no'/></interface>`);
  }, 60000);

  it('an unmanaged tap on a bridge: refused on define, as libvirt', async () => {
    const xml = smallGuestXML('tap-nics-unbr', 64, `<interface type='bridge'><source bridge='${BR}'/><target dev='${TAP}' managed='no'/></interface>`);
    const a = await virErrorOf(conn.defineXML(xml));
    const b = await virErrorOf(lvConn.defineXML(xml));
    expect({ code: a.code, domain: a.domain, message: a.message }).toEqual({ code: b.code, domain: b.domain, message: b.message });
  });

  it("a vnetN target is dropped on define (names of that form are handed out at start), as libvirt", async () => {
    const xml = smallGuestXML('tap-nics-vnet', 64, `
      <interface type='ethernet'><mac address='52:54:00:7a:01:01'/><target dev='vnet7'/></interface>
      <interface type='ethernet'><mac address='52:54:00:7a:01:02'/><target dev='mytap9'/></interface>`);
    const mine = await conn.defineXML(xml);
    const theirs = await lvConn.defineXML(xml);
    try {
      expect(targetDevs(await mine.getXMLDesc(2))).toEqual([undefined, 'mytap9']);
      expect(targetDevs(await mine.getXMLDesc(2))).toEqual(targetDevs(await theirs.getXMLDesc(2)));
    } finally {
      await mine.undefine();
      await theirs.undefine();
    }
  });

  it('a bridge interface without a bridge: refused on define, as libvirt', async () => {
    const xml = smallGuestXML('tap-nics-nosrc', 64, "<interface type='bridge'><model type='virtio'/></interface>");
    const a = await virErrorOf(conn.defineXML(xml));
    const b = await virErrorOf(lvConn.defineXML(xml));
    expect({ code: a.code, domain: a.domain, message: a.message }).toEqual({ code: b.code, domain: b.domain, message: b.message });
  });
});
