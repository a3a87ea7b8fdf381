/**
 * Who holds a guest's console, shared by every tsvirt process. With `qemu:///session` each
 * tsvirsh runs the driver itself, so "Active console session exists for this domain" cannot
 * come from one process' memory as in libvirtd: the holder is a lease file in the run folder
 * (its process identity and a token per session). A forced open writes its own lease over the
 * holder's; the holder, which re-reads its lease while the session runs, then ends its session
 * as libvirt ends the one a forced open replaced. A lease whose process died counts as free.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { identityAlive, selfIdentity, type ProcessIdentity } from './process';

interface LeaseRecord extends ProcessIdentity {
  token: string;
}

/** How often a holder checks that its lease is still its own. */
const WATCH_MS = 200;

function readLease(path: string): LeaseRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as LeaseRecord;
    return typeof rec.token === 'string' && typeof rec.pid === 'number' ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** One console session's claim. */
export interface ConsoleLease {
  /** Calls `lost` once the lease names another session (a forced open); stops with release. */
  watch(lost: () => void): void;
  /** Gives the lease up, if it is still this session's. */
  release(): void;
}

/** True when a live session of any process holds the console whose lease file is `path`. */
export function consoleHeld(path: string): boolean {
  const rec = readLease(path);
  return rec !== undefined && identityAlive(rec);
}

/** Takes the console's lease (the caller has checked or overridden the holder). */
export function takeConsoleLease(path: string): ConsoleLease {
  const mine: LeaseRecord = { ...selfIdentity(), token: randomBytes(12).toString('hex') };
  writeFileSync(path, JSON.stringify(mine), { mode: 0o600 });
  let timer: NodeJS.Timeout | undefined;
  const stillMine = (): boolean => readLease(path)?.token === mine.token;
  return {
    watch(lost) {
      timer = setInterval(() => {
        if (stillMine()) return;
        clearInterval(timer);
        timer = undefined;
        lost();
      }, WATCH_MS);
      // The watch alone must not keep a process alive.
      timer.unref();
    },
    release() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (stillMine()) rmSync(path, { force: true });
    },
  };
}
