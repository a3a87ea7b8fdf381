/**
 * Status files: what a running guest needs for any tsvirt process to find it again (pid, QMP
 * socket, state, the live XML) plus the save in progress, so that the next open can clean up
 * after a tsvirt process that died in the middle of one.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { ProcessIdentity } from './process';

/** A save that was running when the status was written. */
export interface SaveInProgress {
  /** The image's final path (symlinks resolved): the earlier image there is never removed. */
  file: string;
  /** The temporary sibling the image is written to, renamed to `file` once complete. */
  tempFile?: string;
  /**
   * Set just before the renames that put the new image in place: if the saver dies now, an
   * absent `tempFile` and a complete `file` mean the new image is in place and the guest saved.
   */
  committing?: boolean;
  /** The guest ran before the save paused it: resume it when the save is abandoned. */
  wasRunning: boolean;
  /** The tsvirt process running the save. */
  ownerPid: number;
  /** Its start time (see ProcessIdentity), so a reused pid does not look like the saver. */
  ownerStart?: number;
  /** Temporary files besides `tempFile` the save writes (parallel channel files), removed with it. */
  extraFiles?: string[];
}

/** One running guest. */
export interface StatusRecord {
  version: 1;
  name: string;
  uuid: string;
  id: number;
  pid: number;
  monitor: string;
  state: number;
  reason: number;
  /** The live definition. */
  xml: string;
  /** The guest's memory backend is shared (memfd/file), for later save pipelines. */
  emulator: string;
  save?: SaveInProgress;
  /**
   * The process whose connection started the guest with VIR_DOMAIN_START_AUTODESTROY: when it is
   * gone without having closed that connection (killed), the next open destroys the guest.
   */
  autoDestroyOwner?: ProcessIdentity;
}

/** Writes a status file atomically (write + rename: a reader never sees half a file). */
export function writeStatus(path: string, rec: StatusRecord): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(rec, null, 1), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Reads a status file; null when missing or unreadable (a damaged file is treated as stale). */
export function readStatus(path: string): StatusRecord | null {
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as StatusRecord;
    if (rec.version !== 1 || typeof rec.pid !== 'number' || typeof rec.xml !== 'string') return null;
    return rec;
  } catch {
    return null;
  }
}

/** Removes a status file. */
export function removeStatus(path: string): void {
  rmSync(path, { force: true });
}
