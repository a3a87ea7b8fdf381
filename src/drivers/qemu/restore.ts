/**
 * Restoring a guest from an image: the header is checked with libvirt's messages, QEMU starts
 * with `-incoming defer` and the stream on fd 3, `migrate-incoming fd:3`, then `cont` unless the
 * image or the caller says paused. Nothing on disk changes when a restore fails, and a restore
 * that fails at any point (the lock included) leaves no job, helper process, loop device or fd.
 */
import type { Readable } from 'node:stream';
import { cloneDomainDef, parseDomainXML, type DomainDef } from '../../conf/domain-xml';
import { readSaveImageHeader, type SaveImageInfo } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import { requireNvramForReset } from '../common/domain-flags';
import type { SaveOptions } from '../common/save-options';
import { DomainEventType, DomainState, EventDetail, JobOperation, PausedReason, RunningReason, ShutoffReason } from '../types';
import type { DomainLock } from './domain-lock';
import { capabilitiesFor } from './capabilities';
import { lockForStart, parseQemuDef, spawnGuest, startCpus, stopGuest } from './lifecycle';
import { migrationFailed, setMigrationCapabilities, waitMigrationEnd, type MigrateInfo } from './migration';
import { runFiles } from './paths';
import { createRestorePipeline, type RestorePipeline } from './save-pipeline';
import type { QemuDriverState } from './state';
import type { QemuDomain } from './domain-obj';

/** How long QEMU may take to report "completed" after the last byte of a socket feed. */
const INCOMING_FINISH_MS = 120_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(VirError.report(ErrorCode.OPERATION_TIMEOUT, ErrorDomain.QEMU, what)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Options of {@link restoreDomain}. */
export interface RestoreRequest {
  file: string;
  dxml?: string;
  bypassCache: boolean;
  runningOverride: SaveOptions['runningOverride'];
  /** Restoring a managed save image of this domain (its definition must match). */
  managedFor?: QemuDomain;
  /** `parallel.channels` given by the caller: must agree with the image. */
  channels?: number;
  /** `parallel.instant`: map a region image's RAM copy-on-write instead of copying it. */
  instant?: boolean;
  /** VIR_DOMAIN_SAVE_RESET_NVRAM: refused unless the domain has NVRAM. */
  resetNvram?: boolean;
  /** The domain lock, when the caller (a start restoring its managed image) already holds it. */
  lock?: DomainLock;
}

/**
 * Closes what a pipeline gave QEMU or still holds: helpers, fds, a loop device. The reader's pipe
 * is destroyed here too, so its `dd | zstd -dc` sees EPIPE and exits even when QEMU never
 * inherited it (killing the shell alone leaves the pipeline's members running).
 */
async function releasePipeline(pipeline: RestorePipeline): Promise<void> {
  await pipeline.cleanup();
  for (const fd of pipeline.extraFds) {
    if (typeof fd !== 'number') (fd as Readable).destroy();
  }
}

/**
 * Restores an image; returns the domain, running or paused as asked. The domain lock is taken
 * before anything is created (job, reader, loop device, QEMU), and every failure releases what
 * was created; a guest another process runs is never touched.
 */
export async function restoreDomain(st: QemuDriverState, req: RestoreRequest): Promise<QemuDomain> {
  const info = await readSaveImageHeader(req.file, ErrorDomain.QEMU);
  const def = parseQemuDef(req.dxml ?? info.xml, st);
  if (req.dxml) {
    const orig = parseDomainXML(info.xml);
    if (orig.uuid !== def.uuid || orig.memory !== def.memory) {
      throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, 'Target domain does not match the source saved in the image');
    }
  }
  if (req.resetNvram) requireNvramForReset(def, ErrorDomain.QEMU);
  const existing = st.find(def.name, def.uuid);
  const busy = `domain '${existing?.def.name ?? def.name}' is already active`;
  if (existing && st.isActive(existing)) throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, busy);
  const lock = req.lock ?? lockForStart(st, def, busy);
  try {
    return await restoreLocked(st, req, info, def);
  } finally {
    if (!req.lock) lock.release();
  }
}

async function restoreLocked(st: QemuDriverState, req: RestoreRequest, info: SaveImageInfo, def: DomainDef): Promise<QemuDomain> {
  const pipeline = await createRestorePipeline({
    file: req.file,
    info,
    bypassCache: req.bypassCache,
    channels: req.channels,
    socketPath: runFiles(st.paths, def.uuid).migration,
    instant: req.instant,
  });
  let added = false;
  let dom: QemuDomain | undefined;
  let job: ActiveJob | undefined;
  try {
    const r = st.addOrMatch(def);
    dom = r.dom;
    added = r.added;
    if (dom.persistent) dom.nextDef = dom.nextDef ?? dom.def;
    dom.def = cloneDomainDef(def);
    job = st.jobs.begin(st.ref(dom), JobOperation.RESTORE, { name: 'domain restore', dataTotal: info.fileSize - info.streamOffset });
    dom.job = job;
    pipeline.attach?.(job);
    const qmp = await spawnGuest(st, dom, { incoming: true, extraFds: pipeline.extraFds as never, ramFromFile: pipeline.ramFromFile }, PausedReason.MIGRATION);
    pipeline.spawned();
    // Until the load completes, QEMU exiting is this restore failing (shut off "failed", reported
    // below), not a guest crashing.
    dom.proc!.stopping = true;
    // Probed on first use, so a process that reconnected to a running guest knows them too.
    const caps = (await capabilitiesFor(dom.proc!.emulator, qmp)).migrationCapabilities;
    const missing = pipeline.capabilities.filter((c) => !caps.includes(c));
    if (missing.length > 0) {
      throw VirError.report(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, `restoring this image needs the QEMU migration capability '${missing[0]}', which this QEMU lacks`);
    }
    await setMigrationCapabilities(qmp, caps, pipeline.capabilities);
    if (pipeline.parameters) await qmp.execute('migrate-set-parameters', pipeline.parameters);
    await pipeline.beforeIncoming?.(dom.proc!.pid);
    const ended = waitMigrationEnd(qmp);
    ended.catch(() => undefined);
    await qmp.execute('migrate-incoming', { uri: pipeline.uri });
    // A stream that fails its checksum may leave QEMU waiting for ever: the feed's verdict
    // comes first, and only a verified feed waits for QEMU's own "completed".
    let status: string;
    if (pipeline.afterIncoming) {
      await pipeline.afterIncoming();
      // Everything was sent and verified; QEMU that still does not finish is stuck, not slow.
      status = await withTimeout(ended, INCOMING_FINISH_MS, 'QEMU did not finish loading the verified image');
    } else {
      status = await ended;
    }
    if (status !== 'completed') {
      const last = (await qmp.execute('query-migrate').catch(() => null)) as MigrateInfo | null;
      throw (await pipeline.failure?.()) ?? migrationFailed('migration in', last);
    }
    await pipeline.finish();
    if (!pipeline.attach) job.addProcessed(info.fileSize - info.streamOffset);
    dom.proc!.stopping = false;
    const run = req.runningOverride ? req.runningOverride === 'running' : info.header.wasRunning;
    st.emit(dom, DomainEventType.STARTED, EventDetail.started.RESTORED);
    if (run) {
      await startCpus(st, dom, RunningReason.RESTORED);
    } else {
      dom.state = DomainState.PAUSED;
      dom.reason = PausedReason.MIGRATION;
      st.persistStatus(dom);
      st.emit(dom, DomainEventType.SUSPENDED, EventDetail.suspended.RESTORED);
    }
    job.complete();
    dom.job = undefined;
    await releasePipeline(pipeline);
    return dom;
  } catch (err) {
    const e = VirError.from(err, ErrorDomain.QEMU);
    await releasePipeline(pipeline);
    if (dom) {
      if (dom.job === job) dom.job = undefined;
      job?.fail(e);
      if (dom.proc) await stopGuest(st, dom, ShutoffReason.FAILED, EventDetail.stopped.FAILED);
      else if (added) st.remove(dom);
      if (st.domains.includes(dom) && !st.isActive(dom) && dom.nextDef) {
        dom.def = dom.nextDef;
        dom.nextDef = undefined;
      }
    }
    throw e;
  }
}
