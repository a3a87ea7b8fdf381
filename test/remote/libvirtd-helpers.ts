/** Starts Debian's real libvirtd privately (config as in running-libvirt.md) for interop tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A private libvirtd and where it listens. */
export interface RealLibvirtd {
  dir: string;
  rw: string;
  ro: string;
  stop(): Promise<void>;
}

/** Starts libvirtd with its sockets in a temp dir; resolves once the rw socket exists. */
export async function startLibvirtd(): Promise<RealLibvirtd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'libvirtd-'));
  const sock = path.join(dir, 'sock');
  const conf = path.join(dir, 'libvirtd.conf');
  // libvirtd does not create its socket directory.
  fs.mkdirSync(sock);
  fs.writeFileSync(
    conf,
    [
      'listen_tls = 0',
      'listen_tcp = 0',
      `unix_sock_dir = "${sock}"`,
      'unix_sock_group = "root"',
      'unix_sock_ro_perms = "0777"',
      'unix_sock_rw_perms = "0770"',
      'unix_sock_admin_perms = "0700"',
      'auth_unix_ro = "none"',
      'auth_unix_rw = "none"',
      `log_outputs = "3:file:${path.join(dir, 'libvirtd.log')}"`,
      '',
    ].join('\n'),
  );
  // Only the built-in drivers (test, remote) are wanted: an empty module directory keeps
  // libvirtd from loading its QEMU driver, whose start needs a 'libvirt-qemu' user that a
  // bare libvirt-daemon install may not have created.
  const modules = path.join(dir, 'modules');
  fs.mkdirSync(modules);
  const child: ChildProcess = spawn('/usr/sbin/libvirtd', ['--config', conf, '--pid-file', path.join(dir, 'libvirtd.pid')], {
    stdio: 'ignore',
    env: { ...process.env, LIBVIRT_DRIVER_DIR: modules },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const rw = path.join(sock, 'libvirt-sock');
  const end = Date.now() + 20000;
  while (!fs.existsSync(rw)) {
    if (child.exitCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      const log = fs.existsSync(path.join(dir, 'libvirtd.log')) ? fs.readFileSync(path.join(dir, 'libvirtd.log'), 'utf8') : '';
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`libvirtd did not start (exit ${child.exitCode}); log:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    rw,
    ro: path.join(sock, 'libvirt-sock-ro'),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
