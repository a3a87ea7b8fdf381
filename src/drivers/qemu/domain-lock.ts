/**
 * A per-domain lock shared by every tsvirt process: a lock file created with O_EXCL holding the
 * owner's pid. Node has no flock(), and a pid file lets a later process recognise a lock whose
 * owner died (killed mid-save) and take it over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
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
      if (owner !== null && owner > 0 && processAlive(owner)) {
        throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, `${what} is locked by process ${owner}`);
      }
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it first: retry */
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
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
  throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, `${what} is locked by another process`);
}
