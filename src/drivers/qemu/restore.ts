/**
 * Restoring a guest from an image: the header is checked with libvirt's messages, QEMU starts
 * with `-incoming defer` and the stream on fd 3, `migrate-incoming fd:3`, then `cont` unless the
 * image or the caller says paused. Nothing on disk changes when a restore fails.
 */
import { cloneDomainDef, parseDomainXML } from '../../conf/domain-xml';
import { readSaveImageHeader } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { SaveOptions } from '../common/save-options';
import { DomainEventType, DomainState, EventDetail, JobOperation, PausedReason, RunningReason, ShutoffReason } from '../types';
import { acquireDomainLock } from './domain-lock';
import { capabilitiesFor } from './capabilities';
import { parseQemuDef, spawnGuest, startCpus, stopGuest } from './lifecycle';
import { migrationFailed, setMigrationCapabilities, waitMigrationEnd, type MigrateInfo } from './migration';
import { runFiles } from './paths';
import { createRestorePipeline } from './save-pipeline';
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
}

/** Restores an image; returns the domain, running or paused as asked. */
export async function restoreDomain(st: QemuDriverState, req: RestoreRequest): Promise<QemuDomain> {
  const info = await readSaveImageHeader(req.file, ErrorDomain.QEMU);
  const def = parseQemuDef(req.dxml ?? info.xml, st);
  if (req.dxml) {
    const orig = parseDomainXML(info.xml);
    if (orig.uuid !== def.uuid || orig.memory !== def.memory) {
      throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, 'Target domain does not match the source saved in the image');
    }
  }
  const existing = st.find(def.name, def.uuid);
  if (existing && st.isActive(existing)) {
    throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, `domain '${existing.def.name}' is already active`);
  }
  const pipeline = await createRestorePipeline({
    file: req.file,
    info,
    bypassCache: req.bypassCache,
    channels: req.channels,
    socketPath: runFiles(st.paths, def.uuid).migration,
    instant: req.instant,
  });
  let added = false;
  let d: QemuDomain | undefined;
  try {
    const r = st.addOrMatch(def);
    d = r.dom;
    added = r.added;
    if (d.persistent) d.nextDef = d.nextDef ?? d.def;
    d.def = cloneDomainDef(def);
  } catch (err) {
    pipeline.cleanup();
    throw err;
  }
  const dom = d;
  const ref = st.ref(dom);
  const job = st.jobs.begin(ref, JobOperation.RESTORE, { name: 'domain restore', dataTotal: info.fileSize - info.streamOffset });
  dom.job = job;
  pipeline.attach?.(job);
  const lock = acquireDomainLock(runFiles(st.paths, def.uuid).lock, `domain '${def.name}'`);
  try {
    const qmp = await spawnGuest(st, dom, { incoming: true, extraFds: pipeline.extraFds as never, ramFromFile: pipeline.ramFromFile }, PausedReason.MIGRATION);
    pipeline.spawned();
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
      throw migrationFailed('migration in', last);
    }
    await pipeline.finish();
    if (!pipeline.attach) job.addProcessed(info.fileSize - info.streamOffset);
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
    return dom;
  } catch (err) {
    const e = VirError.from(err, ErrorDomain.QEMU);
    pipeline.cleanup();
    dom.job = undefined;
    job.fail(e);
    if (dom.proc) await stopGuest(st, dom, ShutoffReason.FAILED, EventDetail.stopped.FAILED);
    else if (added) st.remove(dom);
    if (st.domains.includes(dom) && !st.isActive(dom) && dom.nextDef) {
      dom.def = dom.nextDef;
      dom.nextDef = undefined;
    }
    throw e;
  } finally {
    pipeline.cleanup();
    lock.release();
  }
}
