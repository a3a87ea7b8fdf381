/**
 * Saving a guest: libvirt's image format v2 in front of QEMU's migration stream. Everything is
 * written under a temporary name beside the target; the header goes out with the Part magic, and
 * only after QEMU completed, the writer exited cleanly, the stream's checksum is in the manifest
 * and fdatasync returned does the Save magic replace it and the files get renamed into place.
 * Any failure removes only the temporary files: an earlier image at the path stays as it was,
 * and the guest runs again if it ran before; the guest is never killed by a failed save.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatDomainXML, parseDomainXML, type DomainDef } from '../../conf/domain-xml';
import {
  MANIFEST_VERSION,
  SaveImageFormat,
  finalizeSaveImage,
  imageChannelFiles,
  streamOffset,
  writeSaveImageManifest,
  writeSaveImageStart,
} from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import type { SaveOptions } from '../common/save-options';
import { prepareImageTarget, type ImageTarget } from '../../util/image-path';
import { DomainEventType, DomainState, EventDetail, JobOperation, PausedReason, RunningReason, ShutoffReason, type DomainRef } from '../types';
import { capabilitiesFor } from './capabilities';
import type { QemuDomain } from './domain-obj';
import { acquireDomainLock, type DomainLock } from './domain-lock';
import { cpuCommand, monitorOf, requireActive, startCpus, stopGuest } from './lifecycle';
import { MigrationProgress, migrationFailed, setMigrationCapabilities, setMigrationParameters, waitMigrationEnd } from './migration';
import { runFiles } from './paths';
import { hasSharedRamFile, ramBackendMatcher } from './command-line';
import { refuseIfMapped } from './instant-restore';
import { createSavePipeline, type SavePipeline } from './save-pipeline';
import type { QemuDriverState } from './state';
import { selfIdentity } from './process';

const log = moduleLogger('qemu-save');

/** The running save's progress, so GetJobInfo can ask QEMU on demand. */
export const saveProgress = new WeakMap<QemuDomain, MigrationProgress>();

/** The replacement XML must describe the same guest (libvirt checks the ABI; tsvirt the basics). */
function checkDxml(cur: DomainDef, dxml: string): DomainDef {
  const def = parseDomainXML(dxml);
  const diffs: string[] = [];
  if (def.uuid !== cur.uuid) diffs.push(`uuid ${def.uuid} does not match source ${cur.uuid}`);
  if (def.name !== cur.name) diffs.push(`name ${def.name} does not match source ${cur.name}`);
  if (def.memory !== cur.memory) diffs.push(`Target domain max memory ${def.memory} does not match source ${cur.memory}`);
  if (def.vcpu !== cur.vcpu) diffs.push(`Target domain vCPU max ${def.vcpu} does not match source ${cur.vcpu}`);
  if (diffs.length) throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, diffs[0]);
  return def;
}

/**
 * Runs a save of `ref` to `file`. `options` came from resolveSaveOptions; RUNNING / PAUSED decide
 * the image's was_running. Raises OPERATION_ABORTED when the client aborted the job.
 * `maxBandwidth` (bytes/s) replaces libvirt's "unlimited" only for the test URI option.
 */
export function saveDomain(st: QemuDriverState, ref: DomainRef, file: string, options: SaveOptions, maxBandwidth?: number): Promise<void> {
  return st.track(runSave(st, ref, file, options, maxBandwidth));
}

async function runSave(st: QemuDriverState, ref: DomainRef, file: string, options: SaveOptions, maxBandwidth?: number): Promise<void> {
  const d = st.resolve(ref);
  requireActive(st, d);
  const qmp = monitorOf(d);
  const savedDef = options.dxml ? checkDxml(d.def, options.dxml) : d.def;
  const job = st.jobs.begin(ref, JobOperation.SAVE, { name: 'domain save' });
  d.job = job;
  let lock: DomainLock;
  try {
    lock = acquireDomainLock(runFiles(st.paths, d.def.uuid).lock, `domain '${d.def.name}'`);
  } catch (err) {
    d.job = undefined;
    job.fail(err);
    throw err;
  }
  const wasRunning = d.state === DomainState.RUNNING;
  const prev = { state: d.state, reason: d.reason };
  let fh: FileHandle | null = null;
  let pipeline: SavePipeline | null = null;
  let cleaned = false;
  const cleanUp = async (): Promise<void> => {
    if (cleaned || !pipeline) return;
    cleaned = true;
    // A cleanup that fails must not cut short the failed save's own cleanup (the guest resumed,
    // the job failed).
    await Promise.resolve()
      .then(() => pipeline?.cleanup())
      .catch((err: Error) => log.warn({ err: err.message }, 'save pipeline cleanup failed'));
  };
  let progress: MigrationProgress | null = null;
  let migrating = false;
  let pausedBySave = false;
  let replaced: string[] = [];
  let target: ImageTarget | null = null;
  let headerInfo: { header: Awaited<ReturnType<typeof writeSaveImageStart>>; dataLen: number } | null = null;
  let committed = false;
  try {
    const pre = (await qmp.execute('query-migrate')) as { status?: string };
    if (pre.status === 'active' || pre.status === 'setup') {
      throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, 'another migration job is already running for domain');
    }
    // Everything that can fail without touching the guest comes first: the file and the pipeline.
    if (options.mode === 'region' && !hasSharedRamFile(d.def)) {
      throw VirError.report(
        ErrorCode.OPERATION_UNSUPPORTED,
        ErrorDomain.QEMU,
        "parallel.mode 'region' needs guest RAM in a shared memfd or file backend (<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>)",
      );
    }
    target = await prepareImageTarget(file, ErrorDomain.QEMU);
    refuseIfMapped(target.finalPath, 'overwrite the save image');
    replaced = await imageChannelFiles(target.finalPath, ErrorDomain.QEMU);
    try {
      fh = await open(target.tempPath, 'wx', 0o600);
    } catch (err) {
      throw VirError.system(ErrorDomain.QEMU, `Failed to create file '${file}'`, err);
    }
    const imageWasRunning = options.runningOverride ? options.runningOverride === 'running' : wasRunning;
    const xml = formatDomainXML(savedDef, { inactive: true });
    // A parallel layout gets a format value libvirt refuses: its main file alone is not the guest.
    // (sparse is libvirt's own parallel format and keeps its value.)
    const tsvirtLayout = options.imageFormat === SaveImageFormat.RAW && (options.mode === 'files' || options.mode === 'region');
    const format = tsvirtLayout ? SaveImageFormat.TSVIRT_PARALLEL : options.imageFormat;
    const header = await writeSaveImageStart(fh, { xml, wasRunning: imageWasRunning, format });
    await fh.datasync();
    const files = runFiles(st.paths, d.def.uuid);
    // Probed on first use, so a process that reconnected to a running guest knows them too.
    const qemuCaps = await capabilitiesFor(d.proc!.emulator, qmp);
    const caps = qemuCaps.migrationCapabilities;
    pipeline = createSavePipeline({
      file: target.tempPath,
      streamOffset: streamOffset(header),
      options,
      doneFile: files.done,
      qemuCapabilities: caps,
      qemuParameters: qemuCaps.migrationParameters,
      fh,
      socketPath: files.migration,
      pid: d.proc!.pid,
      ramBytes: d.def.memory * 1024,
      isRam: ramBackendMatcher(d.def, st.paths.runDir) ?? (() => false),
    });
    headerInfo = { header, dataLen: Buffer.byteLength(xml) + 1 };
    d.save = { file: target.finalPath, tempFile: target.tempPath, wasRunning, ownerPid: process.pid, ownerStart: selfIdentity().start, extraFiles: pipeline.outputs?.() };

    if (wasRunning) {
      await cpuCommand(d, 'stop', qmp);
      pausedBySave = true;
      d.state = DomainState.PAUSED;
      d.reason = PausedReason.SAVE;
      st.emit(d, DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED);
    }
    st.persistStatus(d);
    job.throwIfAborted();
    await pipeline.prepare?.(job);
    job.throwIfAborted();

    await setMigrationCapabilities(qmp, caps, pipeline.capabilities);
    await setMigrationParameters(qmp, pipeline.parameters, maxBandwidth);
    progress = new MigrationProgress(qmp, job);
    saveProgress.set(d, progress);
    const ended = waitMigrationEnd(qmp);
    ended.catch(() => undefined);
    const onAbort = (): void => {
      if (migrating) qmp.execute('migrate_cancel').catch(() => undefined);
    };
    job.signal.addEventListener('abort', onAbort, { once: true });
    migrating = true;
    await qmp.execute('migrate', { uri: pipeline.uri, detach: true, resume: false });
    pipeline.started?.();
    if (job.aborted) onAbort();
    progress.start();
    const status = await ended;
    migrating = false;
    job.signal.removeEventListener('abort', onAbort);
    progress.stop();
    await progress.refresh().catch(() => undefined);
    if (status === 'cancelled' || job.aborted) throw job.abortError();
    // A writer that failed (disk full, EIO) makes QEMU's side fail too: report the cause.
    if (status !== 'completed') throw (await pipeline.failure?.()) ?? migrationFailed('migration out', progress.last);

    await pipeline.finish(job.signal);
    const part = pipeline.manifest?.();
    if (part) {
      await writeSaveImageManifest(fh, headerInfo!.header, headerInfo!.dataLen, { version: MANIFEST_VERSION, uuid: d.def.uuid, ...part }, ErrorDomain.QEMU);
    }
    await fh.datasync();
    await finalizeSaveImage(fh, headerInfo!.header);
    await fh.close();
    fh = null;
    job.throwIfAborted();

    const mine = await commitImage(st, d, target!, pipeline.outputs?.() ?? []);
    committed = true;
    // Channel files of the image this one replaced, which the new image does not reuse.
    await Promise.all(replaced.filter((p) => !mine.has(p)).map((p) => rm(p, { force: true }).catch(() => undefined)));

    job.complete();
    d.job = undefined;
    d.save = undefined;
    await stopGuest(st, d, ShutoffReason.SAVED, EventDetail.stopped.SAVED);
    // After "stopped (saved)", as libvirt orders the two.
    st.emitJobCompleted(d, job);
  } catch (err) {
    progress?.stop();
    const e = VirError.from(err, ErrorDomain.QEMU);
    log.info({ domain: d.def.name, err: e.message }, 'save failed');
    if (migrating && !qmp.closed) {
      const ended = waitMigrationEnd(qmp);
      await qmp.execute('migrate_cancel').catch(() => undefined);
      await Promise.race([ended.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
    }
    if (fh) await fh.close().catch(() => undefined);
    if (target && !committed) {
      const files = [target.tempPath, ...(pipeline?.outputs?.() ?? [])];
      // The writers go first: a single-stream writer is QEMU's child and opens the image by name
      // when its shell gets to it, which on a loaded host can be after QEMU died. Removed before
      // it ended, the partial image would be created again behind the cleanup.
      await cleanUp();
      for (const p of files) await rm(p, { force: true }).catch(() => undefined);
    }
    d.save = undefined;
    if (d.proc && !qmp.closed && st.isActive(d)) {
      try {
        if (pausedBySave) {
          await startCpus(st, d, RunningReason.SAVE_CANCELED);
          st.emit(d, DomainEventType.RESUMED, EventDetail.resumed.UNPAUSED);
        } else {
          d.state = prev.state;
          d.reason = prev.reason;
          st.persistStatus(d);
        }
      } catch (resumeErr) {
        log.warn({ err: (resumeErr as Error).message }, 'could not resume the guest after a failed save');
      }
    }
    d.job = undefined;
    job.fail(e);
    throw e;
  } finally {
    await cleanUp();
    saveProgress.delete(d);
    lock.release();
  }
}

/**
 * Puts a complete image in place: channel files first, the main file (the one a restore opens)
 * last, then the directory is synced so the renames survive a crash. Returns the final paths.
 */
async function commitImage(st: QemuDriverState, d: QemuDomain, target: ImageTarget, tempOutputs: string[]): Promise<Set<string>> {
  d.save = { ...d.save!, committing: true };
  st.persistStatus(d);
  const finals = tempOutputs.map((p) => target.finalPath + p.slice(target.tempPath.length));
  for (let i = 0; i < tempOutputs.length; i++) await rename(tempOutputs[i], finals[i]);
  await rename(target.tempPath, target.finalPath);
  await syncDir(dirname(target.finalPath));
  return new Set(finals);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Refreshes the progress of a running save from QEMU (for GetJobInfo / GetJobStats). */
export async function refreshSaveProgress(d: QemuDomain): Promise<void> {
  await saveProgress.get(d)?.refresh().catch(() => undefined);
}
