/**
 * Debian's virt-install (virtinst 4.1) creating and starting a real QEMU guest through a tsvirtd
 * process serving the QEMU driver, as it does through libvirtd: it reads the capabilities (the
 * first machine type of the probe becomes the guest's), looks the name up, starts the guest with
 * createXML, defines it and reads it back. The guest has no OS and no disk (128 MiB, TCG);
 * stock virsh through the same daemon sees it running, then destroys and undefines it.
 *
 * virt-install needs an OS name since 4.0; `--osinfo detect=on,require=off` gives its generic
 * defaults (i440fx, e1000, ICH9 USB), the same against libvirtd; `--osinfo linux2022` its modern
 * ones (virtio, xHCI, a guest agent channel) on q35, the second and last guest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { spawnTsvirtd, type DaemonProcess } from './process-helpers';
import { runTool, type ToolResult } from './run-tool';

const env = setupQemuEnv('virt-install');
let daemon: DaemonProcess;
let uri: string;

beforeAll(async () => {
  const sockDir = path.join(env.root, 'sock');
  daemon = await spawnTsvirtd(['--socket-dir', sockDir]);
  uri = `qemu+unix:///session?socket=${path.join(sockDir, 'libvirt-sock')}`;
}, 30000);
afterAll(async () => {
  daemon?.child.kill('SIGTERM');
  await daemon?.exited;
  teardownQemuEnv(env);
});

const virsh = (...args: string[]): Promise<ToolResult> => runTool('virsh', ['-c', uri, ...args], { timeoutMs: 60000 });

/** virt-install with its cache and logs under the test's dir. */
function virtInstall(args: string[]): Promise<ToolResult> {
  return runTool('virt-install', ['--connect', uri, ...args], { timeoutMs: 180000, env: { HOME: env.root } });
}

const COMMON = ['--memory', '128', '--network', 'user', '--graphics', 'none', '--noautoconsole', '--osinfo', 'detect=on,require=off'];

describe('virt-install through tsvirtd (QEMU driver)', () => {
  it('creates and starts a guest; virsh lists it running, then destroys and undefines it', async () => {
    const r = await virtInstall(['--name', 'vi1', '--install', 'no_install=yes', '--disk', 'none', ...COMMON]);
    expect({ code: r.code, stderr: r.stderr.split('\n').filter((l) => l.startsWith('ERROR')) }).toEqual({ code: 0, stderr: [] });
    expect(r.stdout).toContain('Domain creation completed.');
    expect(daemon.stderr()).not.toMatch(/unknown procedure/);

    expect((await virsh('list')).stdout).toMatch(/^\s*\d+\s+vi1\s+running\s*$/m);
    expect((await virsh('domstate', 'vi1', '--reason')).stdout.trim()).toBe('running (booted)');
    // What virt-install asked for is what runs: its power-management and ICH9 USB choices.
    const xml = (await virsh('dumpxml', 'vi1')).stdout;
    expect(xml).toMatch(/<type arch='x86_64' machine='pc-i440fx-[\d.]+'>hvm<\/type>/);
    expect(xml).toContain("<suspend-to-mem enabled='no'/>");
    expect(xml).toContain("<controller type='usb' index='0' model='ich9-ehci1'>");
    expect(xml).toContain("<model type='e1000'/>");

    expect((await virsh('destroy', 'vi1')).stdout).toContain("Domain 'vi1' destroyed");
    expect((await virsh('undefine', 'vi1')).stdout).toContain("Domain 'vi1' has been undefined");
    expect((await virsh('list', '--all', '--name')).stdout.trim()).toBe('');
  }, 240000);

  it('with a modern OS (--osinfo linux2022), on the q35 machine virt-install picks: virtio devices, xHCI and the guest agent channel', async () => {
    const r = await virtInstall(['--name', 'vi3', '--install', 'no_install=yes', '--disk', 'none', ...COMMON.slice(0, -2), '--osinfo', 'linux2022']);
    expect({ code: r.code, stderr: r.stderr.split('\n').filter((l) => l.startsWith('ERROR')) }).toEqual({ code: 0, stderr: [] });
    expect((await virsh('dumpxml', '--inactive', 'vi3')).stdout).toMatch(/<type arch='x86_64' machine='pc-q35-[\d.]+'>hvm<\/type>/);
    expect((await virsh('list')).stdout).toMatch(/^\s*\d+\s+vi3\s+running\s*$/m);
    // The agent's socket, which virt-install leaves to the driver, is where the live XML says.
    const live = (await virsh('dumpxml', 'vi3')).stdout;
    const socket = /<source mode='bind' path='([^']+\/org\.qemu\.guest_agent\.0)'\/>/.exec(live)?.[1];
    expect(socket && fs.statSync(socket).isSocket()).toBe(true);
    expect((await virsh('dumpxml', '--inactive', 'vi3')).stdout).not.toContain("<source mode='bind'");
    expect(live).toContain("<controller type='usb' index='0' model='qemu-xhci' ports='15'>");
    expect((await virsh('destroy', 'vi3')).code).toBe(0);
    expect(fs.existsSync(socket as string)).toBe(false);
    expect((await virsh('undefine', 'vi3')).code).toBe(0);
  }, 240000);

  it('--import --disk path=FILE stops where virt-install needs a storage driver, which tsvirt has not', async () => {
    // virt-install resolves a disk path through the storage API; its probe
    // (virConnectListAllStoragePools) gets NO_SUPPORT, as from a libvirt without a storage
    // driver, and it then has no path for the disk. Nothing is created.
    const disk = path.join(env.workDir, 'tiny.raw');
    fs.writeFileSync(disk, Buffer.alloc(1 << 20));
    const r = await virtInstall(['--name', 'vi2', '--import', '--disk', `path=${disk}`, ...COMMON]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: --disk path=${disk}: Device type 'disk' requires a path`);
    expect((await virsh('list', '--all', '--name')).stdout.trim()).toBe('');
    const py = await runTool('/usr/bin/python3', ['-c', `
import libvirt, sys
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    libvirt.open(sys.argv[1]).listAllStoragePools()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e)
`, uri]);
    expect(py.stdout.trim()).toBe('3 18 this function is not supported by the connection driver: virConnectListAllStoragePools');
  }, 240000);
});
