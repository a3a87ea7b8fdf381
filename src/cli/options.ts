/**
 * Typed access to option values with virsh's error texts (vshCommandOptInt,
 * vshCommandOptStringReq, virFileReadAll).
 */
import { readFile } from 'node:fs/promises';
import { ReportedError } from './errors';
import { optString, type CommandContext, type ParsedCommand } from './types';

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EPERM: 'Operation not permitted',
};

/** A string option that, when given, must not be empty ("Option argument is empty"). */
export function optStringReq(ctx: CommandContext, cmd: ParsedCommand, name: string): string | undefined {
  const v = optString(cmd, name);
  if (v !== undefined && v.length === 0) {
    ctx.error(`Failed to get option '${name}': Option argument is empty`);
    throw new ReportedError();
  }
  return v;
}

/** An int option as a number, or undefined; a malformed value fails the command as virsh does. */
export function optInt(ctx: CommandContext, cmd: ParsedCommand, name: string): number | undefined {
  const v = optString(cmd, name);
  if (v === undefined) return undefined;
  const trimmed = v.trim();
  const n = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(n) || n < -2147483648 || n > 2147483647) {
    ctx.error(`Numeric value '${v}' for <${name}> option is malformed or out of range`);
    throw new ReportedError();
  }
  return n;
}

/** Fails the command as virsh's VSH_EXCLUSIVE_OPTIONS does when both bool options are given. */
export function exclusiveOpts(ctx: CommandContext, cmd: ParsedCommand, a: string, b: string): void {
  if (cmd.opts.has(a) && cmd.opts.has(b)) {
    ctx.error(`Options --${a} and --${b} are mutually exclusive`);
    throw new ReportedError();
  }
}

/** Reads a whole (XML) file, failing with virsh's "Failed to open file" text. */
export async function readTextFile(ctx: CommandContext, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    ctx.error(`Failed to open file '${file}': ${errnoText(err)}`);
    throw new ReportedError();
  }
}

/** strerror's text for a Node.js system error (its message when the code is not listed). */
export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return ERRNO_TEXT[code] ?? (err as Error).message;
}
