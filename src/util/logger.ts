/**
 * The project's logger: pino, silent unless TSVIRT_LOG_LEVEL is set; TSVIRT_LOG_FILE sends it to
 * a file instead of stderr (stdout belongs to tsvirsh's output).
 */
import pino, { type Logger } from 'pino';

function makeLogger(): Logger {
  const level = process.env.TSVIRT_LOG_LEVEL || 'silent';
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
