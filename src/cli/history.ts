/**
 * The interactive shell's persistent history, kept as virsh keeps its own: one command line per
 * line in `$XDG_CACHE_HOME/tsvirsh/history` (default `~/.cache/tsvirsh/history`), the newest
 * 500 lines, written when the shell ends.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** How many lines are kept (virsh keeps 500). */
export const HISTORY_SIZE = 500;

/** The history file for an environment. */
export function historyFile(env: NodeJS.ProcessEnv): string {
  const cache = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(cache, 'tsvirsh', 'history');
}

/** The saved lines, newest first (readline's order); none when the file is missing or unreadable. */
export function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

/** Writes `lines` (newest first) oldest first; a failure only costs the history, as in virsh. */
export function saveHistory(file: string, lines: readonly string[]): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, [...lines.slice(0, HISTORY_SIZE)].reverse().map((l) => `${l}\n`).join(''), { mode: 0o600 });
  } catch {
    /* history is a convenience */
  }
}
