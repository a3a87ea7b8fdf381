/**
 * capabilities and domcapabilities of tsvirtd's QEMU driver against libvirtd 9.0's QEMU driver
 * on the same host, both asked by stock virsh: the errors for bad arguments are libvirt's to the
 * letter; the documents agree on what both derive from the same QEMU binary (emulator, default
 * machine, vcpu limits, machine types and aliases, custom CPU models and their usability).
 * Where tsvirt offers less than libvirt (firmware loaders, host devices, ...) its document says
 * so with supported='no'; those parts are checked against what tsvirt's command line refuses.
 */
import fs from 'node:fs';
import { attr, child, children, parseXmlDocument, textOf, type XmlElement } from '../../src/conf/xml-tree';
import { Connect, ErrorCode } from '../../src';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { runTool } from './run-tool';

const env = setupQemuEnv('domcaps');
// The host's emulators on both sides (an alternative QEMU would make the paths differ).
delete process.env.TSVIRT_QEMU;
let lv: QemuLibvirtd;
let d: TestDaemon;
let tsUri: string;

beforeAll(async () => {
  [lv, d] = await Promise.all([startQemuLibvirtd(), startTestDaemon()]);
  tsUri = `qemu+unix:///session?socket=${d.rw}`;
}, 60000);
afterAll(async () => {
  await Promise.all([lv?.stop(), d?.stop()]);
  teardownQemuEnv(env);
});

const virsh = (uri: string, ...args: string[]) => runTool('virsh', ['-c', uri, ...args], { timeoutMs: 60000 });

function machinesOf(caps: string, arch: string): string[] {
  const root = parseXmlDocument(caps, 'capabilities');
  const guest = children(root, 'guest').find((g) => attr(child(g, 'arch'), 'name') === arch);
  const a = guest ? child(guest, 'arch') : undefined;
  return (a ? children(a, 'machine') : []).map((m) => `${textOf(m)} canonical=${attr(m, 'canonical')} maxCpus=${attr(m, 'maxCpus')} deprecated=${attr(m, 'deprecated')}`);
}

function text(root: XmlElement, name: string): string | undefined {
  return textOf(child(root, name));
}

/** name -> usable of the custom CPU models. */
function customModels(root: XmlElement): Map<string, string | undefined> {
  const cpu = child(root, 'cpu');
  const custom = cpu ? children(cpu, 'mode').find((m) => attr(m, 'name') === 'custom') : undefined;
  return new Map((custom ? children(custom, 'model') : []).map((m) => [textOf(m) ?? '', attr(m, 'usable')]));
}

describe('capabilities and domcapabilities: tsvirtd (QEMU) and libvirtd 9.0', () => {
  it('capabilities: the same guests, default machine first, the same machine types and aliases', async () => {
    const [ours, theirs] = await Promise.all([virsh(tsUri, 'capabilities'), virsh(lv.uri, 'capabilities')]);
    expect(ours.code).toBe(0);
    const guests = (xml: string) => children(parseXmlDocument(xml, 'capabilities'), 'guest').map((g) => `${text(g, 'os_type')} ${attr(child(g, 'arch'), 'name')} ${text(child(g, 'arch')!, 'emulator')}`);
    expect(guests(ours.stdout)).toEqual(guests(theirs.stdout));
    for (const arch of ['x86_64', 'i686']) {
      const [o, t] = [machinesOf(ours.stdout, arch), machinesOf(theirs.stdout, arch)];
      // QEMU lists machine types in no fixed order; the default comes first on both sides.
      expect(o[0]).toBe(t[0]);
      expect([...o].sort()).toEqual([...t].sort());
    }
  }, 60000);

  it('domcapabilities: the same emulator, machine, vcpu limit and custom CPU models', async () => {
    for (const args of [[], ['--machine', 'pc'], ['--arch', 'i686'], ['--machine', 'q35'], ['--emulatorbin', '/usr/bin/qemu-system-i386', '--arch', 'i686'], ['--virttype', 'none']]) {
      const [ours, theirs] = await Promise.all([virsh(tsUri, 'domcapabilities', ...args), virsh(lv.uri, 'domcapabilities', ...args)]);
      expect({ args, code: ours.code, stderr: ours.stderr }).toEqual({ args, code: 0, stderr: '' });
      const [o, t] = [parseXmlDocument(ours.stdout, 'capabilities'), parseXmlDocument(theirs.stdout, 'capabilities')];
      for (const name of ['path', 'domain', 'machine', 'arch']) expect({ args, name, value: text(o, name) }).toEqual({ args, name, value: text(t, name) });
      expect(attr(child(o, 'vcpu'), 'max')).toBe(attr(child(t, 'vcpu'), 'max'));
      // libvirt 9.0 lists only the models its CPU map knows; tsvirt runs every model QEMU has.
      const [om, tm] = [customModels(o), customModels(t)];
      expect(tm.size).toBeGreaterThan(10);
      for (const [model, usable] of tm) expect({ model, usable: om.get(model) }).toEqual({ model, usable });
    }
  }, 120000);

  it('domcapabilities: what tsvirt cannot run is reported unsupported', async () => {
    const r = await virsh(tsUri, 'domcapabilities');
    const root = parseXmlDocument(r.stdout, 'capabilities');
    expect(attr(child(child(root, 'os')!, 'loader'), 'supported')).toBe('no');
    const devices = child(root, 'devices')!;
    for (const name of ['hostdev', 'filesystem', 'tpm', 'redirdev']) expect(attr(child(devices, name), 'supported')).toBe('no');
    const buses = children(children(child(devices, 'disk')!, 'enum').find((e) => attr(e, 'name') === 'bus')!, 'value').map(textOf);
    expect(buses).toEqual(['ide', 'scsi', 'virtio', 'sata']);
    // TCG here: the host CPU modes need KVM in tsvirt's command line.
    if (!fs.existsSync('/dev/kvm')) {
      const modes = children(child(root, 'cpu')!, 'mode').map((m) => `${attr(m, 'name')}=${attr(m, 'supported')}`);
      expect(modes).toEqual(['host-passthrough=no', 'maximum=yes', 'host-model=no', 'custom=yes']);
    }
  }, 60000);

  it.each([
    ['--arch', 'aarch64'], ['--arch', 'foo'], ['--machine', 'foo'], ['--machine', 'none'], ['--virttype', 'kvm'], ['--virttype', 'xen'],
    ['--virttype', 'foo'], ['--emulatorbin', '/usr/bin/nope'], ['--emulatorbin', '/usr/bin/qemu-system-i386'], ['--arch', ''],
  ])('domcapabilities %s %s: libvirt\'s error', async (...args: string[]) => {
    if (args.join(' ') === '--virttype kvm' && fs.existsSync('/dev/kvm')) return;
    const [ours, theirs] = await Promise.all([virsh(tsUri, 'domcapabilities', ...args), virsh(lv.uri, 'domcapabilities', ...args)]);
    expect(ours).toEqual(theirs);
    expect(ours.code).toBe(1);
  }, 60000);

  it('tsvirt\'s remote driver asks libvirtd by the same procedures (342, 281) and gets its answers', async () => {
    const c = await Connect.open(lv.uri);
    try {
      const xml = await c.getDomainCapabilities(null, 'x86_64', 'pc', 'qemu');
      // virsh adds a newline after the document and one after the command.
      expect(`${xml}\n\n`).toBe((await virsh(lv.uri, 'domcapabilities', '--arch', 'x86_64', '--machine', 'pc', '--virttype', 'qemu')).stdout);
      // libvirtd has a storage driver: a list (empty in its private namespace), not NO_SUPPORT.
      expect(Array.isArray(await c.listAllStoragePools())).toBe(true);
    } finally {
      await c.close();
    }
  }, 60000);

  it('read-only: refused as libvirt refuses it; the library call gives the same error', async () => {
    const roTs = `qemu+unix:///session?socket=${d.ro}`;
    const [ours, theirs] = await Promise.all([
      runTool('virsh', ['-r', '-c', roTs, 'domcapabilities']),
      runTool('virsh', ['-r', '-c', lv.uri, 'domcapabilities']),
    ]);
    expect(ours).toEqual(theirs);
    const c = await Connect.openReadOnly('qemu:///session');
    try {
      await expect(c.getDomainCapabilities()).rejects.toMatchObject({
        code: ErrorCode.OPERATION_DENIED,
        message: 'operation forbidden: read only access prevents virConnectGetDomainCapabilities',
      });
    } finally {
      await c.close();
    }
  }, 60000);
});
