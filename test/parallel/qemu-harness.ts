/**
 * A bare QEMU process with a QMP client, for tests that exercise migration plumbing below the
 * driver (the multifd relay). Guests have no OS: RAM is filled through /proc/PID/mem.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/** SHA-256 of guest-physical [from, to) read back through QMP pmemsave. */
export async function guestHash(q: BareQemu, dir: string, from: number, to: number): Promise<string> {
  const out = path.join(dir, `pmem-${q.pid}-${from}.bin`);
  await q.qmp.execute('pmemsave', { val: from, size: to - from, filename: out });
  const h = createHash('sha256').update(fs.readFileSync(out)).digest('hex');
  fs.rmSync(out, { force: true });
  return h;
}
