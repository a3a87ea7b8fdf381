/**
 * The QMP client against a real qemu-system-x86_64 (TCG, 64 MiB, no devices, paused with -S).
 * The binary is a test requirement: without it the suite fails and says what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import type { VirError } from '../../src/util/vir-error';
import { QmpClient, QmpCommandError, probeQemuCapabilities } from '../../src/drivers/qemu/qmp';

const QEMU = 'qemu-system-x86_64';

function findOnPath(binary: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return null;
}

describe('QmpClient against a real QEMU', () => {
  let dir: string;
  let qemu: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let stderr = '';
  let client: QmpClient;

  beforeAll(async () => {
    const binary = findOnPath(QEMU);
    if (!binary) {
      throw new Error(
        `${QEMU} was not found on PATH: install it (Debian: apt-get install -y qemu-system-x86) to run the QMP integration test`,
      );
    }
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsvirt-qemu-'));
    const sock = path.join(dir, 'qmp.sock');
    const args = ['-machine', 'pc,accel=tcg', '-m', '64', '-nodefaults', '-display', 'none', '-S'];
    args.push('-qmp', `unix:${sock},server=on,wait=off`);
    qemu = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const proc = qemu;
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      client = await QmpClient.connect(sock, { timeoutMs: 20_000, retry: true, name: 'qmp-test' });
    } catch (err) {
      throw new Error(`could not reach QEMU's QMP socket: ${(err as Error).message}; QEMU stderr: ${stderr}`);
    }
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGKILL');
      await exited;
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports the paused start-up state', async () => {
    expect(client.version.major).toBeGreaterThanOrEqual(7);
    const status = await client.execute<{ status: string; running: boolean }>('query-status');
    expect(status).toMatchObject({ status: 'prelaunch', running: false });
  });

  it('probes version, migration capabilities and commands', async () => {
    const caps = await probeQemuCapabilities(client, { timeoutMs: 10_000 });
    expect(caps.version).toEqual(client.version);
    expect(caps.migrationCapabilities).toEqual(expect.arrayContaining(['multifd', 'x-ignore-shared']));
    expect(caps.commands).toEqual(expect.arrayContaining(['migrate', 'migrate-set-capabilities', 'query-migrate', 'cont', 'stop', 'quit']));
  });

  it('maps a real QMP error', async () => {
    const err = await client.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      domain: ErrorDomain.QEMU,
      qmpClass: 'CommandNotFound',
      message: "internal error: unable to execute QEMU command 'no-such-command': The command no-such-command has not been found",
    });
  });

  it('resumes with cont (RESUME event) and pauses with stop (STOP event)', async () => {
    const resumed = client.waitForEvent('RESUME', undefined, 10_000);
    await client.execute('cont');
    await resumed;
    await expect(client.execute('query-status')).resolves.toMatchObject({ status: 'running', running: true });

    const stopped = client.waitForEvent('STOP', undefined, 10_000);
    await expect(client.execute('stop')).resolves.toEqual({});
    const ev = await stopped;
    expect(ev.timestamp.seconds).toBeGreaterThan(0);
    await expect(client.execute('query-status')).resolves.toMatchObject({ status: 'paused', running: false });
  });

  it('sees the monitor close after quit, and QEMU exit', async () => {
    const closed = new Promise<VirError>((resolve) => client.once('closed', resolve));
    // Registered before quit: QEMU sends SHUTDOWN before it tears the monitor down.
    const shutdown = client.waitForEvent('SHUTDOWN', undefined, 10_000);
    await client.execute('quit');
    await expect(shutdown).resolves.toMatchObject({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } });
    const err = await closed;
    expect(err).toMatchObject({ code: ErrorCode.INTERNAL_ERROR, message: "internal error: End of file from qemu monitor (vm='qmp-test')" });
    expect(await exited).toBe(0);
    await expect(client.execute('query-status')).rejects.toBe(err);
  });
});
