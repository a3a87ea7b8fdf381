/**
 * A per-domain lock shared by every tsvirt process: a lock file created with O_EXCL holding the
 * owner's pid. Node has no flock(), and a pid file lets a later process recognise a lock whose
 * owner died (killed mid-save) and take it over.
 *
 * Every operation that starts or replaces a guest's QEMU (boot, restore) or writes its image
 * (save) runs under it, so two processes never spawn the same guest or remove the monitor
 * socket of a guest the other one runs.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { processAlive } from './process';

/** A held lock. */
export interface DomainLock {
  readonly path: string;
  /** Releases the lock (idempotent). */
  release(): void;
}

/** The pid recorded in a lock file, or null when there is no (readable) lock. */
export function lockOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'latin1').trim(), 10);
    return Number.isInteger(pid) ? pid : 0;
  } catch {
    return null;
  }
}

/** How old an empty lock file must be to count as abandoned. */
const EMPTY_LOCK_STALE_MS = 2000;

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return true;
  }
}

function busy(what: string, owner: number | null): VirError {
  const by = owner !== null && owner > 0 ? `process ${owner}` : 'another process';
  return VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, `${what} is locked by ${by}`);
}

/**
 * Takes the lock or raises OPERATION_INVALID naming the holder. A lock left by a dead process is
 * removed and taken; one held by this very process (another connection) counts as busy too.
 */
export function acquireDomainLock(path: string, what: string): DomainLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw VirError.system(ErrorDomain.QEMU, `cannot create lock file '${path}'`, err);
      const owner = lockOwner(path);
      if (owner !== null && owner > 0 && processAlive(owner)) throw busy(what, owner);
      // An empty lock is being written by its owner right now, unless it is old (its owner
      // died between creating and writing it).
      if (owner === 0 && !olderThan(path, EMPTY_LOCK_STALE_MS)) throw busy(what, null);
      // Read again right before removing: another process taking over the same stale lock may
      // have replaced it with its own live one since.
      if (lockOwner(path) !== owner) continue;
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it first: retry */
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } catch (err) {
      closeSync(fd);
      unlinkSync(path);
      throw VirError.system(ErrorDomain.QEMU, `cannot write lock file '${path}'`, err);
    }
    closeSync(fd);
    let held = true;
    return {
      path,
      release(): void {
        if (!held) return;
        held = false;
        if (lockOwner(path) === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        }
      },
    };
  }
  throw busy(what, lockOwner(path));
}

/** Runs `fn` with the lock held; the lock is released however `fn` ends. */
export async function withDomainLock<T>(path: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = acquireDomainLock(path, what);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
