/**
 * What an open does with the status files it finds: reattach to guests that still run, drop the
 * stale ones, and finish or undo a save whose tsvirt process died in the middle of it.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cloneDomainDef, parseDomainXML } from '../../conf/domain-xml';
import { readSaveImageHeader } from '../../conf/save-image';
import { moduleLogger } from '../../util/logger';
import { DomainState, EventDetail, PausedReason, RunningReason, ShutoffReason } from '../types';
import type { QemuDomain } from './domain-obj';
import { lockOwner } from './domain-lock';
import { attachMonitor } from './guest-process';
import { runFiles, writerScratchFiles } from './paths';
import { identityAlive, processAlive, processCmdline, terminateProcess } from './process';
import type { QemuDriverState } from './state';
import { readStatus, removeStatus, type SaveInProgress, type StatusRecord } from './status-file';
import type { QmpClient } from './qmp';
import { cpuCommand } from './lifecycle';

const log = moduleLogger('qemu-reconnect');

/** True when the pid of a status file still runs the QEMU of that guest (not a reused pid). */
function sameGuest(rec: StatusRecord): boolean {
  return processAlive(rec.pid) && processCmdline(rec.pid).includes(rec.uuid);
}

async function imageComplete(file: string): Promise<boolean> {
  try {
    await readSaveImageHeader(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what a save that never completed was writing: its temporary image and channel files
 * (the image at the final path is an earlier, complete one and stays), and the migration socket.
 * A status file of an older tsvirt, which wrote in place, names no temporary file: its image is
 * removed only if it does not carry the Save magic.
 */
async function dropPartialImage(st: QemuDriverState, uuid: string, save: SaveInProgress): Promise<void> {
  if (save.tempFile) {
    for (const p of [save.tempFile, ...(save.extraFiles ?? [])]) rmSync(p, { force: true });
  } else if (existsSync(save.file) && !(await imageComplete(save.file))) {
    for (const p of [save.file, ...(save.extraFiles ?? [])]) rmSync(p, { force: true });
  }
  rmSync(runFiles(st.paths, uuid).migration, { force: true });
}

/** True when the dead saver had already put its complete image in place. */
async function saveWasCommitted(save: SaveInProgress): Promise<boolean> {
  if (!save.tempFile) return imageComplete(save.file);
  return !!save.committing && !existsSync(save.tempFile) && (await imageComplete(save.file));
}

/** Removes what a dead saver leaves in the run dir: the writer's status files and its lock. */
function removeWriterFiles(st: QemuDriverState, uuid: string): void {
  const f = runFiles(st.paths, uuid);
  for (const p of writerScratchFiles(f.done)) rmSync(p, { force: true });
  const owner = lockOwner(f.lock);
  if (owner !== null && !processAlive(owner)) rmSync(f.lock, { force: true });
}

/** True when the process that ran this save is gone (killed: it never finished or undid it). */
function saverGone(save: SaveInProgress): boolean {
  return !identityAlive({ pid: save.ownerPid, start: save.ownerStart ?? 0 });
}

function removeRunFiles(st: QemuDriverState, uuid: string): void {
  const f = runFiles(st.paths, uuid);
  removeStatus(f.status);
  rmSync(f.monitor, { force: true });
  removeWriterFiles(st, uuid);
}

async function undoOrphanSave(st: QemuDriverState, d: QemuDomain, rec: StatusRecord, qmp: QmpClient): Promise<void> {
  const save = rec.save!;
  if (await saveWasCommitted(save)) {
    // The image is whole: only stopping QEMU was left to do.
    d.proc!.stopping = true;
    await terminateProcess(rec.pid);
    st.markStopped(d, ShutoffReason.SAVED, EventDetail.stopped.SAVED);
    return;
  }
  try {
    const mig = (await qmp.execute('query-migrate')) as { status?: string };
    if (mig.status && !['completed', 'failed', 'cancelled', 'none'].includes(mig.status)) {
      const done = qmp.waitForEvent('MIGRATION', (e) => ['cancelled', 'failed', 'completed'].includes(String(e.data.status)), 10_000);
      await qmp.execute('migrate_cancel');
      await done.catch(() => undefined);
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not cancel the orphaned migration');
  }
  await dropPartialImage(st, d.def.uuid, save);
  removeWriterFiles(st, d.def.uuid);
  d.save = undefined;
  if (save.wasRunning) {
    await cpuCommand(d, 'cont', qmp);
    d.state = DomainState.RUNNING;
    d.reason = RunningReason.SAVE_CANCELED;
  } else {
    d.state = DomainState.PAUSED;
    d.reason = PausedReason.USER;
  }
  st.persistStatus(d);
}

async function adopt(st: QemuDriverState, rec: StatusRecord): Promise<void> {
  const known = st.domains.find((x) => x.def.uuid === rec.uuid);
  if (known?.proc) return;
  const def = parseDomainXML(rec.xml);
  const d = known ?? st.addOrMatch(def).dom;
  if (known) {
    d.nextDef = known.persistent ? cloneDomainDef(known.def) : undefined;
    d.def = def;
  }
  d.id = rec.id;
  st.noteId(rec.id);
  d.state = rec.state;
  d.reason = rec.reason;
  d.save = rec.save;
  d.autoDestroyOwner = rec.autoDestroyOwner;
  d.proc = { pid: rec.pid, monitorPath: rec.monitor, emulator: rec.emulator, qmp: null, stopping: false };
  let qmp: QmpClient | null = null;
  try {
    qmp = await attachMonitor(rec.monitor, def.name);
  } catch (err) {
    // Another tsvirt process holds the monitor (QEMU serves one client): keep what the file says.
    log.info({ domain: def.name, err: (err as Error).message }, 'monitor busy; using the status file');
    return;
  }
  d.proc.qmp = qmp;
  st.watchMonitor(d, qmp);
  const orphan = rec.save !== undefined && saverGone(rec.save);
  if (rec.autoDestroyOwner && !identityAlive(rec.autoDestroyOwner) && !(orphan && (await saveWasCommitted(rec.save!)))) {
    // The connection that asked for AUTODESTROY died without closing: do what its close would
    // have. (A save that had put its image in place is finished instead, below: the guest saved.)
    log.info({ domain: def.name, owner: rec.autoDestroyOwner.pid }, 'auto-destroying a guest whose owner is gone');
    if (orphan) await dropPartialImage(st, d.def.uuid, rec.save!);
    d.save = undefined;
    d.proc.stopping = true;
    await terminateProcess(rec.pid);
    removeWriterFiles(st, d.def.uuid);
    st.markStopped(d, ShutoffReason.DESTROYED, EventDetail.stopped.DESTROYED);
    return;
  }
  if (orphan) {
    await undoOrphanSave(st, d, rec, qmp);
    return;
  }
  const status = (await qmp.execute('query-status')) as { running?: boolean };
  if (status.running && d.state !== DomainState.RUNNING) {
    d.state = DomainState.RUNNING;
    d.reason = RunningReason.UNKNOWN;
  } else if (!status.running && d.state === DomainState.RUNNING) {
    d.state = DomainState.PAUSED;
    d.reason = PausedReason.UNKNOWN;
  }
}

/**
 * Reconciles the state with the run directory: called on every open, so a new process (or a new
 * connection after a crash) sees running guests and no stale leftovers.
 */
export async function reconcileRunDir(st: QemuDriverState): Promise<void> {
  for (const f of readdirSync(st.paths.runDir)) {
    if (!f.endsWith('.json')) continue;
    const rec = readStatus(join(st.paths.runDir, f));
    const uuid = f.slice(0, -'.json'.length);
    if (!rec) {
      removeRunFiles(st, uuid);
      continue;
    }
    if (!sameGuest(rec)) {
      log.info({ domain: rec.name, pid: rec.pid }, 'dropping stale status file');
      if (rec.save && saverGone(rec.save)) await dropPartialImage(st, rec.uuid, rec.save);
      removeRunFiles(st, uuid);
      const known = st.domains.find((x) => x.def.uuid === rec.uuid);
      if (known && known.proc?.pid === rec.pid) st.markStopped(known, ShutoffReason.CRASHED, EventDetail.stopped.FAILED);
      continue;
    }
    try {
      await adopt(st, rec);
    } catch (err) {
      log.warn({ domain: rec.name, err: (err as Error).message }, 'could not reattach to guest');
    }
  }
  st.refreshShutoffReasons();
}
