/**
 * The test driver's one save implementation, behind Save, SaveFlags, SaveParams and ManagedSave:
 * a job 'domain save', a real image (see image.ts), and libvirt's state changes: success leaves
 * the domain "shut off (saved)", an abort or a failure leaves it running ("save canceled").
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatDomainXML, parseDomainXML, type DomainDef } from '../../conf/domain-xml';
import { SaveImageFormat, saveImageFormatName } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { SaveOptions } from '../common/save-options';
import {
  DomainEventType,
  DomainState,
  EventDetail,
  JobOperation,
  PausedReason,
  RunningReason,
  ShutoffReason,
  type DomainRef,
} from '../types';
import { prepareImageTarget } from '../../util/image-path';
import { writeTestImage } from './image';
import { requireActive } from './lifecycle';
import { checkCompressionAvailable, payloadSize } from './payload';
import type { TestState } from './state';

/** What a test connection passes to the save/restore code. */
export interface TestContext {
  state: TestState;
  /** URI `chunk_delay_ms`: delay after each 64 KiB chunk. */
  chunkDelayMs: number;
}

/**
 * A replacement XML must describe the same domain: same name and UUID (libvirt's ABI check
 * texts), else INVALID_ARG.
 */
export function checkSameDomain(current: DomainDef, replacement: DomainDef): void {
  if (replacement.name !== current.name) {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      ErrorDomain.TEST,
      `Target domain name '${replacement.name}' does not match source '${current.name}'`,
    );
  }
  if (replacement.uuid !== current.uuid) {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      ErrorDomain.TEST,
      `Target domain uuid ${replacement.uuid} does not match source ${current.uuid}`,
    );
  }
}

/** Refuses save options the test driver cannot honour, before anything happens. */
export function checkSupportedImageOptions(opts: SaveOptions): void {
  if (opts.imageFormat !== SaveImageFormat.RAW) {
    throw VirError.report(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.TEST,
      `image format '${saveImageFormatName(opts.imageFormat)}' is not supported by the test driver`,
    );
  }
  checkCompressionAvailable(opts.compression);
  if (opts.mode === 'region' && opts.compression !== 'none') {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.TEST, "parallel.mode 'region' does not support compression");
  }
}

/**
 * Saves a running domain to `path`. BYPASS_CACHE is accepted and ignored (the test driver's
 * image is small and written through the page cache).
 */
export async function saveDomain(ctx: TestContext, ref: DomainRef, opts: SaveOptions, path: string): Promise<void> {
  const { state } = ctx;
  const d = state.resolve(ref);
  requireActive(state, d);
  checkSupportedImageOptions(opts);
  let def = d.def;
  if (opts.dxml !== undefined) {
    const replacement = parseDomainXML(opts.dxml);
    checkSameDomain(d.def, replacement);
    def = replacement;
  }
  // Before the guest is touched, with the QEMU driver's checks and temporary naming: a FIFO,
  // device or directory at the path is refused, a symlink's target is replaced (the link
  // stays), a missing directory fails.
  const target = await prepareImageTarget(path, ErrorDomain.TEST);
  const job = state.jobs.begin(state.ref(d), JobOperation.SAVE, { name: 'domain save', channels: opts.channels });
  const before = { state: d.state, reason: d.reason };
  const wasRunning = opts.runningOverride ? opts.runningOverride === 'running' : d.state === DomainState.RUNNING;
  // The guest's CPUs stop while its memory is written, as QEMU's are for a save. No event says
  // so: libvirt's test driver raises only "stopped (saved)" for a save, and clients compare.
  if (d.state === DomainState.RUNNING) {
    d.state = DomainState.PAUSED;
    d.reason = PausedReason.SAVE;
  }
  try {
    await writeTestImage({
      path,
      target,
      xml: formatDomainXML(def, { inactive: true }),
      wasRunning,
      uuid: d.def.uuid,
      payloadSize: payloadSize(d.def.currentMemory),
      channels: opts.channels,
      mode: opts.mode,
      compression: opts.compression,
      chunkDelayMs: ctx.chunkDelayMs,
      job,
    });
    // A destroy during the last write aborts the job: the image is complete but the guest is gone.
    job.throwIfAborted();
  } catch (err) {
    const e = job.aborted ? job.abortError() : VirError.from(err, ErrorDomain.TEST);
    if (state.domains.includes(d) && state.isActive(d)) {
      if (before.state === DomainState.RUNNING) {
        d.state = DomainState.RUNNING;
        d.reason = RunningReason.SAVE_CANCELED;
      } else {
        d.state = before.state;
        d.reason = before.reason;
      }
    }
    job.fail(e);
    throw e;
  }
  const ev = state.ref(d);
  state.stop(d, ShutoffReason.SAVED);
  state.events.emit({ domain: ev, event: DomainEventType.STOPPED, detail: EventDetail.stopped.SAVED });
  job.complete();
}

/**
 * The single entry of every save API: `opts.file` set -> save to it; unset -> managed save
 * (persistent domains only).
 */
export async function performSave(ctx: TestContext, ref: DomainRef, opts: SaveOptions): Promise<void> {
  if (opts.file !== undefined) return saveDomain(ctx, ref, opts, opts.file);
  const d = ctx.state.resolve(ref);
  if (!d.persistent) {
    throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.TEST, 'cannot do managed save for transient domain');
  }
  // The managed save directory is the driver's own (libvirt creates its save dir too); only a
  // caller-named path must already have its directory.
  const path = ctx.state.managedSavePath(d);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return saveDomain(ctx, ref, opts, path);
}
