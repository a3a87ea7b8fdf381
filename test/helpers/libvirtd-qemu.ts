/**
 * A private libvirtd 9.0 with its QEMU driver: the oracle for tsvirt's device model and the
 * other side of the save-image interop tests. libvirt's QEMU driver keeps its state under
 * system paths (/run/libvirt, /var/lib/libvirt, /etc/libvirt/qemu, /var/log/libvirt) and locks
 * them, so the daemon runs in its own mount namespace with a tmpfs over each: two test files
 * (or engineers) never see each other's domains, and nothing outlives the daemon. A private
 * qemu.conf runs guests as root without relabelling, so temp dirs of the test need no chmod.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What a private libvirtd runs besides the system's libvirt 9.0 and QEMU 7.2. */
export interface QemuLibvirtdOptions {
  /** Lines added to its qemu.conf (e.g. `save_image_format = "gzip"`). */
  qemuConf?: string[];
  /** An unpacked libvirt (scripts/setup-libvirt11.sh's root): its libvirtd, virtlogd and virsh. */
  libvirtRoot?: string;
  /** An unpacked QEMU (scripts/setup-qemu10.sh's root) that the daemon sees at the system paths. */
  qemuRoot?: string;
}

/** A running private libvirtd with the QEMU driver. */
export interface QemuLibvirtd {
  /** Its temp dir (sockets, logs, config). */
  dir: string;
  /** The virsh of the same libvirt, and the environment it needs (an unpacked one's libraries). */
  virsh: { path: string; env: NodeJS.ProcessEnv };
  /** `qemu+unix:///system?socket=...` for virsh and tsvirt's remote driver. */
  uri: string;
  /** The log libvirt writes for guest `name` (its QEMU command line, QEMU's stderr). */
  guestLog(name: string): string;
  stop(): Promise<void>;
}

const PRIVATE_DIRS = ['/run/libvirt', '/var/lib/libvirt', '/etc/libvirt/qemu', '/var/log/libvirt', '/var/cache/libvirt'];

function pidFrom(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Bind mounts that show an unpacked libvirt and QEMU at the paths the daemon and its QEMU look
 * in (driver modules, helpers, CPU map, emulator, firmware), inside the private namespace only.
 */
function overlayBinds(o: QemuLibvirtdOptions): string[] {
  const pairs: Array<[string, string]> = [];
  if (o.libvirtRoot) {
    // The libraries too (bound file over file through the soname links): the daemon runs its
    // helpers (iohelper) with a cleared environment, so LD_LIBRARY_PATH does not reach them.
    const libs = ['libvirt.so.0', 'libvirt-qemu.so.0', 'libvirt-admin.so.0', 'libvirt-lxc.so.0'].map((l) => `usr/lib/x86_64-linux-gnu/${l}`);
    for (const d of ['usr/lib/x86_64-linux-gnu/libvirt', 'usr/lib/libvirt', 'usr/share/libvirt', ...libs]) pairs.push([path.join(o.libvirtRoot, d), `/${d}`]);
  }
  if (o.qemuRoot) {
    // Its modules too: libvirt's probe of every device type fails on another build's modules.
    for (const d of ['usr/bin/qemu-system-x86_64', 'usr/share/qemu', 'usr/share/seabios', 'usr/lib/x86_64-linux-gnu/qemu']) pairs.push([path.join(o.qemuRoot, d), `/${d}`]);
  }
  return pairs.filter(([from, to]) => fs.existsSync(from) && fs.existsSync(to)).map(([from, to]) => `mount --bind ${from} ${to}`);
}

/** Starts libvirtd (QEMU driver) in a private mount namespace; resolves when its socket exists. */
export async function startQemuLibvirtd(o: QemuLibvirtdOptions = {}): Promise<QemuLibvirtd> {
  const qemuConf = o.qemuConf ?? [];
  const sbin = o.libvirtRoot ? path.join(o.libvirtRoot, 'usr/sbin') : '/usr/sbin';
  const libs = o.libvirtRoot ? path.join(o.libvirtRoot, 'usr/lib/x86_64-linux-gnu') : undefined;
  const virsh = {
    path: o.libvirtRoot ? path.join(o.libvirtRoot, 'usr/bin/virsh') : 'virsh',
    env: libs ? { ...process.env, LD_LIBRARY_PATH: libs } : { ...process.env },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-libvirtd-qemu-'));
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock);
  const conf = path.join(dir, 'libvirtd.conf');
  fs.writeFileSync(conf, [
    'listen_tls = 0', 'listen_tcp = 0', `unix_sock_dir = "${sock}"`, 'unix_sock_group = "root"',
    'unix_sock_ro_perms = "0777"', 'unix_sock_rw_perms = "0770"', 'unix_sock_admin_perms = "0700"',
    'auth_unix_ro = "none"', 'auth_unix_rw = "none"', `log_outputs = "3:file:${path.join(dir, 'libvirtd.log')}"`, '',
  ].join('\n'));
  const qemuConfFile = path.join(dir, 'qemu.conf');
  fs.writeFileSync(qemuConfFile, ['user = "root"', 'group = "root"', 'dynamic_ownership = 0', 'security_driver = "none"', 'remember_owner = 0', ...qemuConf, ''].join('\n'));
  const logs = path.join(dir, 'guest-logs');
  fs.mkdirSync(logs);
  const pidFile = path.join(dir, 'libvirtd.pid');
  const logdPid = path.join(dir, 'virtlogd.pid');
  // Each private dir gets a tmpfs; qemu.conf is bound over the system one; guest logs land in
  // the test's dir (bound over /var/log/libvirt/qemu) so the test can read them from outside.
  const script = [
    'set -e',
    ...PRIVATE_DIRS.map((d) => `mkdir -p ${d} && mount -t tmpfs tsvirt-test ${d}`),
    `touch /etc/libvirt/qemu.conf && mount --bind ${qemuConfFile} /etc/libvirt/qemu.conf`,
    `mkdir -p /var/log/libvirt/qemu && mount --bind ${logs} /var/log/libvirt/qemu`,
    ...overlayBinds(o),
    ...(libs ? [`export LD_LIBRARY_PATH=${libs}`] : []),
    `${sbin}/virtlogd --daemon --pid-file ${logdPid}`,
    `exec ${sbin}/libvirtd --config ${conf} --pid-file ${pidFile}`,
  ].join('\n');
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'stderr.txt'), 'w')],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const rw = path.join(sock, 'libvirt-sock');
  const end = Date.now() + 30000;
  while (!fs.existsSync(rw)) {
    if (child.exitCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      const logdp = pidFrom(logdPid);
      if (logdp) process.kill(logdp, 'SIGKILL');
      const log = ['stderr.txt', 'libvirtd.log'].map((f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '')).join('\n');
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`libvirtd (QEMU driver) did not start (exit ${child.exitCode}):\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const uri = `qemu+unix:///system?socket=${rw}`;
  return {
    dir,
    virsh,
    uri,
    guestLog: (name) => fs.readFileSync(path.join(logs, `${name}.log`), 'utf8'),
    async stop() {
      // Guests still running are libvirt's children in our namespace: destroy them first.
      const list = spawnSync(virsh.path, ['-c', uri, 'list', '--name'], { encoding: 'utf8', timeout: 20000, env: virsh.env });
      for (const name of (list.stdout ?? '').split('\n').map((s) => s.trim()).filter(Boolean)) {
        spawnSync(virsh.path, ['-c', uri, 'destroy', name], { timeout: 20000, env: virsh.env });
      }
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(t);
      }
      const logdp = pidFrom(logdPid);
      if (logdp && alive(logdp)) process.kill(logdp, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
