/**
 * Starting QEMU and attaching to its monitor. QEMU is spawned detached (its own session) so the
 * guest outlives the tsvirt process; what is needed to find it again goes to a status file.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { acceptsNoAcpiOption } from './capabilities';
import { buildQemuCommand } from './command-line';
import { emulatorEnv, emulatorFor } from './emulator';
import type { RamFromFile } from './memory-backend';
import type { DomainDef } from '../../conf/domain-xml';
import { QmpClient } from './qmp';
import type { QemuPaths } from './paths';
import { runFiles } from './paths';
import { processAlive, terminateProcess } from './process';

const log = moduleLogger('qemu-process');

/** True when /dev/kvm can be opened read-write by this process. */
export function kvmAvailable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    const fd = openSync('/dev/kvm', 'r+');
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link launchQemu}. */
export interface LaunchOptions {
  /** Start with `-incoming defer` (restore). */
  incoming?: boolean;
  /** Extra fds the child inherits as fd 3, 4, ... (the restore stream). */
  extraFds?: number[];
  /** Instant restore: guest RAM mapped copy-on-write from this file (see CommandLineContext). */
  ramFromFile?: RamFromFile;
}

/** A started QEMU, stopped at its first instruction (-S), monitor connected. */
export interface LaunchedQemu {
  pid: number;
  monitorPath: string;
  emulator: string;
  qmp: QmpClient;
}

/** The last lines this QEMU wrote to its log: what earlier runs appended before `from` is not its. */
function lastLogLines(path: string, from: number): string {
  try {
    return readFileSync(path).subarray(from).toString('utf8').trim().split('\n').slice(-3).join(' ');
  } catch {
    return '';
  }
}

/**
 * Spawns QEMU for `def` and connects QMP. On any failure the process is killed and the socket
 * removed; the error says what QEMU printed (as libvirt quotes QEMU's log).
 */
export async function launchQemu(paths: QemuPaths, def: DomainDef, opts: LaunchOptions = {}): Promise<LaunchedQemu> {
  const files = runFiles(paths, def.uuid);
  rmSync(files.monitor, { force: true });
  const noAcpiOption = await acceptsNoAcpiOption(emulatorFor(def));
  mkdirSync(files.channels, { recursive: true, mode: 0o700 });
  const cmd = buildQemuCommand(def, {
    noAcpiOption,
    channelDir: files.channels,
    monitorPath: files.monitor,
    memoryDir: paths.runDir,
    kvmAvailable: kvmAvailable(),
    incoming: opts.incoming,
    forLaunch: true,
    ramFromFile: opts.ramFromFile,
  });
  const logFd = openSync(files.log, 'a', 0o600);
  const logStart = fstatSync(logFd).size;
  const stdio: StdioOptions = ['ignore', logFd, logFd, ...(opts.extraFds ?? [])];
  let pid: number | undefined;
  try {
    const child = spawn(cmd.emulator, cmd.args, { stdio, detached: true, env: emulatorEnv(cmd.emulator) });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(VirError.system(ErrorDomain.QEMU, `Cannot find QEMU binary ${cmd.emulator}`, err)));
    });
    pid = child.pid as number;
    child.unref();
    log.debug({ pid, args: cmd.args }, 'QEMU spawned');
  } finally {
    closeSync(logFd);
  }
  let exited = false;
  try {
    const qmp = await connectWithExitWatch(files.monitor, pid, def.name, () => {
      exited = true;
    });
    return { pid, monitorPath: files.monitor, emulator: cmd.emulator, qmp };
  } catch (err) {
    await terminateProcess(pid, 1000);
    rmSync(files.monitor, { force: true });
    const msg = lastLogLines(files.log, logStart);
    if (exited || msg) {
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `process exited while connecting to monitor: ${msg}`);
    }
    throw err;
  }
}

async function connectWithExitWatch(monitor: string, pid: number, name: string, onExit: () => void): Promise<QmpClient> {
  const ac = new AbortController();
  const watch = setInterval(() => {
    if (!processAlive(pid)) {
      onExit();
      ac.abort();
    }
  }, 50);
  try {
    const connecting = QmpClient.connect(monitor, { retry: true, timeoutMs: 30_000, name, signal: ac.signal });
    // Lost to `died`: its retries stop at the abort and must not reject unhandled.
    connecting.catch(() => undefined);
    const died = new Promise<never>((_, reject) =>
      ac.signal.addEventListener('abort', () => reject(new Error('QEMU exited')), { once: true }),
    );
    const qmp = await Promise.race([connecting, died]);
    return qmp;
  } finally {
    clearInterval(watch);
    if (!ac.signal.aborted) ac.abort();
  }
}

/** Attaches to the monitor of a guest started earlier (maybe by another process). */
export async function attachMonitor(monitor: string, name: string, timeoutMs = 3000): Promise<QmpClient> {
  return QmpClient.connect(monitor, { timeoutMs, name });
}
