/**
 * A bare QEMU process with a QMP client, for tests that exercise migration plumbing below the
 * driver (the multifd relay). Guests have no OS: RAM is filled through /proc/PID/mem.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { QmpClient } from '../../src/drivers/qemu/qmp';

export interface BareQemu {
  proc: ChildProcess;
  qmp: QmpClient;
  pid: number;
  kill(): Promise<void>;
}

/** Starts `qemu-system-x86_64 -S` with `memMiB` of RAM and the given extra arguments. */
export async function startBareQemu(dir: string, name: string, memMiB: number, uuid: string, extra: string[] = []): Promise<BareQemu> {
  const sock = path.join(dir, `${name}.qmp`);
  const args = ['-machine', 'pc,accel=tcg', '-m', String(memMiB), '-nodefaults', '-display', 'none', '-S', '-uuid', uuid, '-qmp', `unix:${sock},server=on,wait=off`, ...extra];
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    const qmp = await QmpClient.connect(sock, { retry: true, timeoutMs: 20000, name });
    return {
      proc,
      qmp,
      pid: proc.pid!,
      async kill() {
        await qmp.close().catch(() => undefined);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        await exited;
      },
    };
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`QEMU did not start: ${String(err)}\n${stderr}`);
  }
}

/** Host address of the guest RAM mapping of exactly `bytes` in the QEMU process. */
export function ramMapping(pid: number, bytes: number): number {
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+rw/.exec(line);
    if (m && parseInt(m[2], 16) - parseInt(m[1], 16) === bytes) return parseInt(m[1], 16);
  }
  throw new Error(`no ${bytes}-byte RAM mapping in /proc/${pid}/maps`);
}

/** Fills guest-physical [from, to) with random bytes (guest paused); returns their SHA-256. */
export function fillRandom(pid: number, ramBytes: number, from: number, to: number): string {
  const base = ramMapping(pid, ramBytes);
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r+');
  const hash = createHash('sha256');
  try {
    for (let off = from; off < to; off += 1 << 20) {
      const chunk = randomBytes(Math.min(1 << 20, to - off));
      fs.writeSync(fd, chunk, 0, chunk.length, base + off);
      hash.update(chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** SHA-256 of guest-physical [from, to) read back through QMP pmemsave. */
export async function guestHash(q: BareQemu, dir: string, from: number, to: number): Promise<string> {
  const out = path.join(dir, `pmem-${q.pid}-${from}.bin`);
  await q.qmp.execute('pmemsave', { val: from, size: to - from, filename: out });
  const h = createHash('sha256').update(fs.readFileSync(out)).digest('hex');
  fs.rmSync(out, { force: true });
  return h;
}
