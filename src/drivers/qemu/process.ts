/**
 * QEMU processes as the driver sees them: alive or not (a zombie counts as exited), and
 * termination with SIGTERM escalating to SIGKILL.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/**
 * True when `pid` names a live process. A zombie (state 'Z' in /proc/PID/stat) is dead: QEMU
 * reparented to a PID 1 that does not reap stays a zombie for ever.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A process named so that a later reuse of its pid is not mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22); unique per pid reuse. */
  start: number;
  /** Its PID namespace (/proc/PID/ns/pid link), for which `pid` is meaningful. */
  pidNamespace?: string;
}

function startTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name: state is field 3, starttime field 22.
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function ownPidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** The identity of a live process of this PID namespace (start 0 when it cannot be read). */
export function processIdentity(pid: number): ProcessIdentity {
  return { pid, start: startTicks(pid) ?? 0, pidNamespace: ownPidNamespace() };
}

/** The identity of this process, recorded where another tsvirt process must judge it alive. */
export function selfIdentity(): ProcessIdentity {
  return processIdentity(process.pid);
}

/**
 * False only when the recorded process is certainly gone: its pid is free, or taken by a process
 * that started at another time. Whatever cannot be judged counts as alive (a pid of another PID
 * namespace, an unreadable /proc entry, an identity of an older tsvirt without a start time), so
 * a live owner is never taken for dead.
 */
export function identityAlive(id: ProcessIdentity | number): boolean {
  const rec = typeof id === 'number' ? { pid: id, start: 0 } : id;
  if (rec.pidNamespace && rec.pidNamespace !== ownPidNamespace()) return true;
  if (!processAlive(rec.pid)) return false;
  if (!rec.start) return true;
  const now = startTicks(rec.pid);
  return now === null || now === rec.start;
}

/** The command line of `pid` split on NULs ([] when it is gone). */
export function processCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter((s) => s !== '');
  } catch {
    return [];
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves true once `pid` has exited (or is a zombie), false after `ms`. */
export async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() >= end) return false;
    await sleep(10);
  }
  return true;
}

/**
 * Stops a process as libvirt's virProcessKillPainfully does: SIGTERM, then SIGKILL when it is
 * still alive after `graceMs`. Resolves when it is gone.
 */
export async function terminateProcess(pid: number, graceMs = 3000): Promise<void> {
  if (!processAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 10_000);
}

/**
 * SIGKILLs every process of a child's group (spawned `detached`): a shell and each program of
 * its pipe (the shell waits for every member, so none outlives it). Only while the leader is
 * unreaped: its pid then still reserves the group id; once reaped, the id may belong to another
 * group (a later QEMU leads its own).
 */
export function killProcessGroup(child: ChildProcess): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* the whole group is gone */
  }
}
