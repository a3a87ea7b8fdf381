/**
 * The project's logger: pino, silent unless TSVIRT_LOG_LEVEL is set; TSVIRT_LOG_FILE sends it to
 * a file instead of stderr (stdout belongs to tsvirsh's output).
 */
import type { Logger } from 'pino';

/**
 * A logger that drops everything. pino and its dependencies cost tens of milliseconds to load,
 * which every tsvirsh command would pay for logging that is off by default, so pino is only
 * loaded when a level is set.
 */
function silentLogger(): Logger {
  const noop = (): void => undefined;
  const silent = {
    level: 'silent',
    isLevelEnabled: () => false,
    child: () => silent,
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    fatal: noop,
    silent: noop,
  };
  return silent as unknown as Logger;
}

function makeLogger(): Logger {
  const level = process.env.TSVIRT_LOG_LEVEL || 'silent';
  if (level === 'silent') return silentLogger();
  // Loaded on demand (see silentLogger); require keeps it synchronous for module-level loggers.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino');
  const file = process.env.TSVIRT_LOG_FILE;
  const dest = file ? pino.destination({ dest: file, sync: true, mkdir: true }) : pino.destination({ fd: 2, sync: true });
  return pino({ name: 'tsvirt', level, base: { pid: process.pid } }, dest);
}

/** Root logger; modules take a child with their own `module` binding. */
export const log: Logger = makeLogger();

/** A child logger for one module. */
export function moduleLogger(module: string): Logger {
  return log.child({ module });
}

/** Flags as libvirt logs them: hex. */
export function hexFlags(flags: number): string {
  return `0x${(flags >>> 0).toString(16)}`;
}
