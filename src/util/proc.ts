/**
 * Processes as /proc shows them (Linux): what ran them, their parents and descendants. Used
 * where tsvirt must act on processes it did not start itself, such as the writer script QEMU
 * runs for a single-stream save.
 */
import fs from 'node:fs';

/** argv of a process from /proc, or undefined when it cannot be read. */
export function cmdline(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return undefined;
  }
}

/** State letter and parent pid from /proc/PID/stat (the fields after the parenthesized name). */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number.isInteger(Number(ppid)) ? { state, ppid: Number(ppid) } : undefined;
  } catch {
    return undefined;
  }
}

/** The parent pid of `pid`, or undefined when it cannot be read. */
export function parentOf(pid: number): number | undefined {
  return statOf(pid)?.ppid;
}

/** True while a process with `pid` exists (EPERM: it exists, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while `pid` exists and is not a zombie waiting for its parent to reap it. */
export function isRunning(pid: number): boolean {
  const s = statOf(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** Every process below `pid` (children, their children, ...), read once from /proc. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    const ppid = parentOf(p);
    if (ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), p]);
  }
  const out: number[] = [];
  for (let todo = [pid]; todo.length; ) {
    const next = todo.flatMap((p) => children.get(p) ?? []);
    out.push(...next);
    todo = next;
  }
  return out;
}
