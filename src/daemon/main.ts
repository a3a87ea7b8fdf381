/**
 * tsvirtd's entry point: settings from flags and config file, pid file, listeners or `--stdio`,
 * and a SIGTERM/SIGINT shutdown that aborts running jobs (guests keep running) before exiting.
 */
import './log-env';
import fs from 'node:fs';
import { Duplex } from 'node:stream';
import '../drivers/builtin';
import { moduleLogger } from '../util/logger';
import { saslUserCommand } from './auth/sasl-user-command';
import { loadDriverModules } from '../drivers/driver-modules';
import { loadSettings, type DaemonSettings } from './config';
import { isAlive } from '../util/proc';
import { watchNpmLauncher } from './launcher-watch';
import { Daemon } from './server';

const log = moduleLogger('tsvirtd');

/** Writes the pid file, refusing when it names a live process (another daemon). */
function writePidFile(file: string): void {
  try {
    const old = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(old) && old > 0 && old !== process.pid && isAlive(old)) {
      throw new Error(`pid file '${file}' names running process ${old}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.writeFileSync(file, `${process.pid}\n`);
}

/**
 * Keeps the daemon up when a bug lets an error escape a client's call: Node's default for an
 * unhandled rejection or uncaught exception is to end the process, which would take every other
 * client's session and running job with it. The error is logged (and written to stderr, as the
 * log is silent by default) and the daemon goes on; each client's faults are confined to its
 * session, so what escaped belongs to no live request.
 */
export function installLastResortHandlers(): void {
  const report = (what: string, err: unknown): void => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log.error({ err }, what);
    process.stderr.write(`tsvirtd: ${what} (daemon kept running): ${text.slice(0, 4096)}\n`);
  };
  process.on('unhandledRejection', (err) => report('unhandled rejection', err));
  process.on('uncaughtException', (err) => report('uncaught exception', err));
}

/** Starts the daemon as the settings say; resolves with a function that stops it. */
export async function runDaemon(settings: DaemonSettings): Promise<{ daemon: Daemon; stop: () => Promise<void> }> {
  if (settings.pidFile) writePidFile(settings.pidFile);
  const daemon = await Daemon.start(settings.daemon);
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= daemon.stop().finally(() => {
      if (settings.pidFile) fs.rmSync(settings.pidFile, { force: true });
    });
    return stopped;
  };
  if (settings.stdio) {
    const stream = Duplex.from({ readable: process.stdin, writable: process.stdout });
    const session = daemon.serveStream(stream, { readOnly: settings.readOnly, secure: true, peer: 'stdio' });
    session.onClose(() => void stop().then(() => process.exit(0)));
  }
  log.info({ ...daemon.addresses }, 'tsvirtd listening');
  return { daemon, stop };
}

/** The command-line program. */
export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'sasl-user') {
    try {
      process.stdout.write(await saslUserCommand(argv.slice(1), process.stdin));
      process.exit(0);
    } catch (err) {
      process.stderr.write(`tsvirtd: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  let settings: DaemonSettings;
  const { drivers, rest } = takeDriverFlags(argv);
  try {
    settings = loadSettings(rest);
  } catch (err) {
    // --help is an answer, not an error: it goes to stdout, as every GNU tool's does.
    if ((err as { usage?: boolean }).usage) {
      process.stdout.write(`${(err as Error).message}\n  --driver MODULE          load a third-party driver module (repeatable)\n`, () => process.exit(0));
      return;
    }
    process.stderr.write(`tsvirtd: ${(err as Error).message}\n`);
    process.exit(2);
  }
  try {
    await loadDriverModules(drivers);
  } catch (err) {
    process.stderr.write(`tsvirtd: ${(err as Error).message}\n`);
    process.exit(2);
  }
  installLastResortHandlers();
  let handle: Awaited<ReturnType<typeof runDaemon>>;
  try {
    handle = await runDaemon(settings);
  } catch (err) {
    process.stderr.write(`tsvirtd: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const onSignal = (sig: string): void => {
    log.info({ signal: sig }, 'shutting down');
    void handle.stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`tsvirtd: shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Started by `npx tsvirtd`: a signal to npm does not reach this process, npm's exit does.
  watchNpmLauncher(() => onSignal('npm launcher exited'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGHUP', () => log.info('SIGHUP ignored'));
  if (!settings.stdio) {
    process.stderr.write(`tsvirtd: listening on ${JSON.stringify(handle.daemon.addresses)}\n`);
  }
}

/** Splits `--driver MODULE` / `--driver=MODULE` (tsvirtd's own, repeatable) from the other flags. */
function takeDriverFlags(argv: readonly string[]): { drivers: string[]; rest: string[] } {
  const drivers: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--driver' && i + 1 < argv.length) drivers.push(argv[++i]);
    else if (argv[i].startsWith('--driver=')) drivers.push(argv[i].slice('--driver='.length));
    else rest.push(argv[i]);
  }
  return { drivers, rest };
}

if (require.main === module) void main(process.argv.slice(2));
