/**
 * Processes as /proc shows them (Linux): what ran them, their parents and process groups. Used
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

/** State letter, parent pid and process group from /proc/PID/stat (after the parenthesized name). */
function statOf(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number.isInteger(Number(ppid)) ? { state, ppid: Number(ppid), pgrp: Number(pgrp) } : undefined;
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

/** The processes of process group `pgid` that still run (zombies left out). */
export function groupMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .map(Number)
    .filter((p) => {
      if (!Number.isInteger(p)) return false;
      const s = statOf(p);
      return s !== undefined && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X';
    });
}
