/** Starts the two daemons the remote benchmark compares: tsvirtd (built) and Debian's libvirtd. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A daemon process and its read-write socket. */
export interface BenchServer {
  name: string;
  pid: number;
  socket: string;
  stop(): Promise<void>;
}

async function waitForSocket(file: string, child: ChildProcess, what: string): Promise<void> {
  const end = Date.now() + 20000;
  while (!fs.existsSync(file)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
}

/** tsvirtd from dist/, on `dir/tsvirtd`. */
export async function startTsvirtd(dir: string): Promise<BenchServer> {
  const main = path.resolve(__dirname, '../src/daemon/main.js');
  const sockDir = path.join(dir, 'tsvirtd');
  const child = spawn(process.execPath, [main, '--socket-dir', sockDir], { stdio: 'ignore' });
  const socket = path.join(sockDir, 'libvirt-sock');
  await waitForSocket(socket, child, 'tsvirtd');
  return { name: 'tsvirtd', pid: child.pid as number, socket, stop: stopper(child) };
}

/** libvirtd with a private config (running-libvirt.md) and no loadable driver modules. */
export async function startLibvirtd(dir: string): Promise<BenchServer> {
  const base = path.join(dir, 'libvirtd');
  const sock = path.join(base, 'sock');
  const modules = path.join(base, 'modules');
  fs.mkdirSync(sock, { recursive: true });
  fs.mkdirSync(modules);
  const conf = path.join(base, 'libvirtd.conf');
  fs.writeFileSync(
    conf,
    `listen_tls = 0\nlisten_tcp = 0\nunix_sock_dir = "${sock}"\nunix_sock_ro_perms = "0777"\nunix_sock_rw_perms = "0770"\n` +
      `auth_unix_ro = "none"\nauth_unix_rw = "none"\nlog_outputs = "3:file:${base}/libvirtd.log"\n`,
  );
  const child = spawn('/usr/sbin/libvirtd', ['--config', conf, '--pid-file', path.join(base, 'libvirtd.pid')], {
    stdio: 'ignore',
    env: { ...process.env, LIBVIRT_DRIVER_DIR: modules },
  });
  const socket = path.join(sock, 'libvirt-sock');
  await waitForSocket(socket, child, 'libvirtd');
  return { name: 'libvirtd', pid: child.pid as number, socket, stop: stopper(child) };
}

/** Resident set size of a process, in MiB. */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}
