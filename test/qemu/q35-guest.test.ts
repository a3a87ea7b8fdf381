/**
 * q35 guests on real QEMU. The Linux test guest on a q35 machine (virtio disk and NIC, serial
 * console, memballoon: all on pcie-root-ports) boots, finds its disk and network, and comes back
 * from a save where it stopped. Each q35 file of the corpus starts under tsvirt and under
 * libvirt 9.0 (private libvirtd) and QEMU reports the same PCI tree for both (query-pci: every
 * device by its slot path through the ports and the pcie-to-pci-bridge), then runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, RunningReason, ShutoffReason } from '../../src';
import { qemuMonitorCommand } from '../../src/drivers/qemu';
import { createFixtureFiles, fixtureNames, fixtureXML } from '../helpers/domain-fixtures';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { bootLinuxGuest, ensureLinuxGuest, missingDiskRecords, waitForTicks } from '../helpers/linux-guest';
import { pciTree, type PciEntry } from '../helpers/pci-tree';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { runTool } from '../remote/run-tool';

const env = setupQemuEnv('q35-guest');
let conn: Connect;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
});
afterAll(async () => {
  await conn?.close();
  teardownQemuEnv(env);
});

describe('the Linux test guest on a q35 machine', () => {
  it('boots with its PCIe devices, and a save and restore bring it back where it stopped', async () => {
    const guest = await bootLinuxGuest(conn, { name: `q35-${process.pid}`, files: ensureLinuxGuest(), dir: env.workDir, mib: 128, machine: 'q35' });
    const { dom, console } = guest;
    try {
      expect(await dom.getXMLDesc(0)).toContain("<type arch='x86_64' machine='pc-q35-7.2'>hvm</type>");
      expect(guest.ready.disk).toBe('/dev/vda');
      expect(guest.ready.net).toBe('10.0.2.15/24');
      // The disk and NIC are behind root ports (buses 1..), not on the root complex.
      const ids = pciTree(await qemuMonitorCommand(dom.uuid, 'query-pci')).filter((d) => d.id !== '');
      expect(ids.find((d) => d.id === 'virtio-disk0')?.path).toMatch(/^01\.\d\/00\.0$/);
      expect(ids.find((d) => d.id === 'net0')?.path).toMatch(/^01\.\d\/00\.0$/);
      await waitForTicks(guest, 2);
      const file = path.join(env.workDir, 'q35.save');
      await dom.save(file);
      expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
      console.poll();
      const linesBefore = console.lines.length;
      const lastBefore = console.lastTick();
      await conn.restore(file);
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
      console.reopen();
      const lastAfter = await waitForTicks(guest, 3);
      expect(console.lines.slice(linesBefore).some((l) => l.includes('READY'))).toBe(false);
      const ticksAfter = console.ticks().filter((t) => t.tick > lastBefore);
      expect(ticksAfter[0].tick).toBe(lastBefore + 1);
      expect(new Set(ticksAfter.map((t) => t.boot))).toEqual(new Set([guest.ready.boot]));
      expect(ticksAfter.every((t) => t.disk === 'ok')).toBe(true);
      expect(missingDiskRecords(guest, 1, lastAfter)).toEqual([]);
    } finally {
      await dom.destroy().catch(() => undefined);
      await dom.undefine().catch(() => undefined);
    }
  }, 180000);
});

/** The PCI tree once the devices behind the root ports are in it (the firmware numbered the buses). */
async function behindPorts(query: () => Promise<unknown>): Promise<PciEntry[]> {
  const end = Date.now() + 30000;
  for (;;) {
    const tree = pciTree(await query());
    if (tree.some((d) => d.path.includes('/')) || Date.now() > end) return tree;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('q35 corpus files run under tsvirt with the PCI tree libvirt gives them', () => {
  let lv: QemuLibvirtd;
  const ourDir = path.join(env.workDir, 'tsvirt');
  const theirDir = path.join(env.workDir, 'libvirt');

  beforeAll(async () => {
    lv = await startQemuLibvirtd();
    for (const d of [ourDir, theirDir]) {
      fs.mkdirSync(d);
      createFixtureFiles(d);
    }
  }, 60000);
  afterAll(async () => {
    await lv?.stop();
  });

  it.each(fixtureNames().filter((n) => n.startsWith('q35')))('%s', async (name) => {
    const theirXml = fixtureXML(name, `q35-lv-${name}`, theirDir);
    const file = path.join(theirDir, `${name}.xml`);
    fs.writeFileSync(file, theirXml);
    const started = await runTool('virsh', ['-c', lv.uri, 'create', file, '--paused'], { timeoutMs: 60000 });
    expect(started.stderr).toBe('');
    // Its own name, uuid and files: QEMU locks images against a second writer.
    const ourXml = fixtureXML(name, `q35-ts-${name}`, ourDir).replace(/<uuid>([0-9a-f-]+)1(\d{3})<\/uuid>/, '<uuid>$12$2</uuid>');
    const uuid = /<uuid>([^<]+)<\/uuid>/.exec(ourXml)![1];
    const dom = await conn.createXML(ourXml, 1 /* START_PAUSED */);
    try {
      // Devices behind a port show in query-pci once the firmware has numbered the buses: run both.
      await dom.resume();
      expect((await runTool('virsh', ['-c', lv.uri, 'resume', `q35-lv-${name}`])).code).toBe(0);
      const ours = await behindPorts(() => qemuMonitorCommand(uuid, 'query-pci'));
      const theirs = await behindPorts(async () => JSON.parse((await runTool('virsh', ['-c', lv.uri, 'qemu-monitor-command', `q35-lv-${name}`, '{"execute":"query-pci"}'])).stdout).return);
      expect(ours).toEqual(theirs);
      expect(ours.filter((d) => d.path.includes('/')).length).toBeGreaterThan(0);
      expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    } finally {
      await dom.destroy().catch(() => undefined);
      await runTool('virsh', ['-c', lv.uri, 'destroy', `q35-lv-${name}`]);
    }
  }, 90000);
});
