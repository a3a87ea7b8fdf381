/**
 * The single-file region layout (Berrangé's reply to the RFC), for guests whose RAM is a shared
 * memfd or file backend: with the guest paused, N workers copy disjoint regions of RAM straight
 * from the backend into the image (zero chunks stay holes), then QEMU migrates only the device
 * state with `x-ignore-shared` into the same file. Restore copies the regions into the new
 * guest's backend, verifying each region's checksum, before QEMU loads the device state.
 *
 *   [libvirt header + XML + manifest][pad to 2 MiB][guest RAM, sparse][device state stream]
 */
import { open, readdir, readlink, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDomainXML } from '../../conf/domain-xml';
import type { ManifestFile, SaveImageInfo } from '../../conf/save-image';
import { ramBackendMatcher } from './command-line';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import { MultifdSink, feedMultifd, type FeedSource } from './multifd-relay';
import {
  REGION_CHUNK,
  ddCopyRegions,
  openDirectRead,
  prefetchRegions,
  restoreRegions,
  type Prefetch,
  type RegionDigest,
} from './region-copy';
import type { ImageManifestPart, RestorePipeline, SavePipeline, SavePipelineContext } from './save-pipeline';

/** Most JSON the regions' data maps may take in the manifest (out of 64 KiB of padding). */
const DATA_MAP_BUDGET = 16 * 1024;

function failed(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, detail);
}

/** Tells QEMU's RAM backend apart from its other open files by its /proc link target. */
export type RamMatcher = (linkTarget: string) => boolean;

/**
 * Opens the QEMU process's guest RAM backend through /proc/PID/fd: the one file `isRam`
 * recognises (what tsvirt configured), checked to have the guest's RAM size.
 */
export async function openGuestRam(pid: number, ramBytes: number, isRam: RamMatcher, flags: 'r' | 'r+'): Promise<FileHandle> {
  return open(await guestRamPath(pid, ramBytes, isRam), flags);
}

function noRamBackend(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, `parallel.mode 'region' ${detail}`);
}

/** The /proc/PID/fd/N path of QEMU's guest RAM backend (see openGuestRam). */
export async function guestRamPath(pid: number, ramBytes: number, isRam: RamMatcher): Promise<string> {
  const dir = `/proc/${pid}/fd`;
  const found: string[] = [];
  for (const fd of await readdir(dir)) {
    const p = `${dir}/${fd}`;
    try {
      if (isRam(await readlink(p))) found.push(p);
    } catch {
      continue; // the fd closed meanwhile
    }
  }
  if (found.length !== 1) {
    throw noRamBackend(
      found.length === 0
        ? "found no shared RAM backend created by tsvirt in the QEMU process (<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>)"
        : `found ${found.length} candidate RAM backends in the QEMU process, expected one`,
    );
  }
  const { size } = await stat(found[0]);
  if (size !== ramBytes) throw noRamBackend(`found the guest RAM backend with ${size} bytes, expected ${ramBytes}`);
  return found[0];
}

/** Save: RAM regions copied by tsvirt, device state by QEMU with x-ignore-shared. */
export class RegionSave implements SavePipeline {
  readonly uri: string;
  readonly capabilities = ['x-ignore-shared'];
  readonly parameters: Record<string, unknown> = {};
  private readonly ramOffset: number;
  private sink: MultifdSink | null = null;
  private regions: RegionDigest[] = [];
  private device: ManifestFile | null = null;

  constructor(private readonly ctx: SavePipelineContext) {
    this.uri = `unix:${ctx.socketPath}`;
    // Aligned so the RAM region can later be mapped or read with O_DIRECT.
    this.ramOffset = Math.ceil(ctx.streamOffset / REGION_CHUNK) * REGION_CHUNK;
  }

  async prepare(job: ActiveJob): Promise<void> {
    const { ramBytes, options } = this.ctx;
    job.setChannels(options.channels);
    job.setTotal(ramBytes);
    const ram = await guestRamPath(this.ctx.pid, ramBytes, this.ctx.isRam);
    await this.ctx.fh.truncate(this.ramOffset + ramBytes);
    // RAM goes to disk with O_DIRECT whatever BYPASS_CACHE says: it is written once and not
    // read back soon, the guest's copy is already in memory, and page-cache writeback was
    // the bottleneck of this copy on the reference machine.
    this.regions = await ddCopyRegions({
      srcPath: ram,
      dstPath: this.ctx.file,
      dstOffset: this.ramOffset,
      size: ramBytes,
      workers: options.channels,
      signal: job.signal,
      onProgress: (worker, bytes) => job.addProcessed(bytes, worker),
    });
    job.throwIfAborted();
    this.sink = await MultifdSink.listen({
      socketPath: this.ctx.socketPath,
      channels: 0,
      mainFile: this.ctx.fh,
      mainOffset: this.ramOffset + ramBytes,
      channelPath: () => '',
    });
  }

  async finish(signal: AbortSignal): Promise<void> {
    if (!this.sink) throw failed('region save was not prepared');
    const onAbort = (): void => this.sink?.fail(failed('region save canceled'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const [dev] = await this.sink.done;
      this.device = { name: '', channel: 0, offset: dev.offset, length: dev.length, sha256: dev.sha256 };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  manifest(): ImageManifestPart {
    // The data maps share the 64 KiB of header padding with the XML's room to grow: a guest whose
    // memory is too scattered to list in a few KiB is read whole on restore, as before maps.
    const maps = JSON.stringify(this.regions.map((r) => r.data ?? [])).length <= DATA_MAP_BUDGET;
    const regions = this.regions.map((r, i) => ({
      name: '',
      channel: i + 1,
      offset: this.ramOffset + r.start,
      length: r.length,
      sha256: r.sha256,
      algorithm: r.algorithm,
      ...(maps && r.data ? { data: r.data } : {}),
    }));
    return {
      mode: 'region',
      channels: this.ctx.options.channels,
      compression: 'none',
      files: [this.device!, ...regions],
      ram: { offset: this.ramOffset, size: this.ctx.ramBytes },
    };
  }

  async failure(): Promise<VirError | null> {
    return this.sink?.failure ?? null;
  }

  async cleanup(): Promise<void> {
    const sink = this.sink;
    this.sink = null;
    await sink?.close().catch(() => undefined);
  }
}

/** What a region image holds, checked against its manifest and the file's size. */
export interface RegionLayout {
  ram: { offset: number; size: number };
  regions: RegionDigest[];
  device: FeedSource;
}

/** Reads and checks a region image's layout; OPERATION_FAILED naming the image when it is inconsistent. */
export function readRegionLayout(file: string, info: SaveImageInfo): RegionLayout {
  const m = info.manifest!;
  const dev = m.files.find((f) => f.channel === 0);
  if (!m.ram || !dev) throw failed(`save image '${file}' has an incomplete region manifest`);
  const ram = m.ram;
  const regions = m.files
    .filter((f) => f.channel > 0)
    .sort((a, b) => a.channel - b.channel)
    .map((f) => ({ start: f.offset - ram.offset, length: f.length, sha256: f.sha256, algorithm: f.algorithm, data: f.data }));
  const covered = regions.reduce((n, r) => n + r.length, 0);
  if (regions.length !== m.channels || covered !== ram.size) {
    throw failed(`save image '${file}' region manifest covers ${covered} of ${ram.size} bytes in ${regions.length} regions`);
  }
  // Regions must tile the RAM, in channel order: two regions over the same bytes with different
  // data maps would let one digest vouch for bytes the other loads.
  const gap = regions.findIndex((r, i) => r.start !== (i === 0 ? 0 : regions[i - 1].start + regions[i - 1].length));
  if (gap >= 0) throw failed(`save image '${file}' region manifest does not cover the RAM in order (region ${gap + 1} starts at ${regions[gap].start})`);
  if (info.fileSize < dev.offset + dev.length) throw failed(`save image file '${file}' is truncated (${info.fileSize} bytes, expected ${dev.offset + dev.length})`);
  return { ram, regions, device: { channel: 0, path: file, offset: dev.offset, length: dev.length, sha256: dev.sha256 } };
}

/**
 * What every region-image restore shares: QEMU listens with x-ignore-shared, and tsvirt feeds
 * the device state stream (verified against its checksum) once `migrate-incoming` was sent.
 */
export abstract class DeviceStateRestore implements RestorePipeline {
  readonly extraFds: number[] = [];
  readonly uri: string;
  readonly capabilities = ['x-ignore-shared'];
  readonly parameters: Record<string, unknown> = {};
  protected job?: ActiveJob;
  private feeding: Promise<void> | null = null;

  protected constructor(
    protected readonly device: FeedSource,
    private readonly socketPath: string,
  ) {
    this.uri = `unix:${socketPath}`;
  }

  attach(job: ActiveJob): void {
    this.job = job;
  }

  abstract spawned(): void;

  afterIncoming(): Promise<void> {
    this.feeding = feedMultifd({ socketPath: this.socketPath, sources: [this.device], onProgress: (_c, bytes) => this.job?.addProcessed(bytes) });
    return this.feeding;
  }

  async finish(): Promise<void> {
    await this.feeding;
  }

  abstract cleanup(): void | Promise<void>;
}

/** Restore: regions into the new guest's backend, then the device state over a socket. */
export class RegionRestore extends DeviceStateRestore {
  private constructor(
    private readonly file: string,
    private readonly ram: { offset: number; size: number },
    private readonly regions: RegionDigest[],
    device: FeedSource,
    socketPath: string,
    private readonly isRam: RamMatcher,
  ) {
    super(device, socketPath);
  }

  private prefetch: Prefetch | null = null;
  /** The image opened for O_DIRECT reads, or null where its filesystem refuses them. */
  private direct: Promise<FileHandle | null> | null = null;
  private directClosed = false;

  override attach(job: ActiveJob): void {
    super.attach(job);
    job.setChannels(this.regions.length);
    job.setTotal(this.ram.size + this.device.length);
    // Called before QEMU is spawned. Reads through the cache are warmed while QEMU starts; direct
    // reads would gain nothing from the cache, so they get no warm-up.
    this.direct = openDirectRead(this.file).then((fh) => {
      if (!fh) this.prefetch = prefetchRegions(this.file, this.ram.offset, this.regions);
      return fh;
    });
    this.direct.catch(() => undefined);
  }

  /** Checks the image's region layout against the file before any QEMU starts. */
  static open(file: string, info: SaveImageInfo, socketPath: string): RegionRestore {
    const { ram, regions, device } = readRegionLayout(file, info);
    // The new guest runs the image's definition; its file backend lives in the run dir, which
    // is where the migration socket is too.
    const isRam = ramBackendMatcher(parseDomainXML(info.xml), dirname(socketPath));
    if (!isRam) throw noRamBackend(`image '${file}' describes a guest without a shared memfd or file RAM backend`);
    return new RegionRestore(file, ram, regions, device, socketPath, isRam);
  }

  spawned(): void {
    /* nothing inherited */
  }

  async beforeIncoming(pid: number): Promise<void> {
    const direct = await this.direct;
    await this.prefetch?.stop();
    const dst = await openGuestRam(pid, this.ram.size, this.isRam, 'r+');
    const copy = await restoreRegions({
      file: this.file,
      direct,
      srcOffset: this.ram.offset,
      dst,
      dstOffset: 0,
      size: this.ram.size,
      workers: this.regions.length,
      expect: this.regions,
      imageName: this.file,
      onProgress: (worker, bytes) => this.job?.addProcessed(bytes, worker),
    }).then(
      () => null,
      (err: unknown) => ({ err }),
    );
    const closed = await Promise.allSettled([this.closeDirect(), dst.close()]);
    // Why a copy failed comes before a failed close, which would hide it.
    if (copy) throw copy.err;
    const failure = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failure) throw VirError.system(ErrorDomain.QEMU, `cannot close save image '${this.file}' or the guest's RAM`, failure.reason);
  }

  private async closeDirect(): Promise<void> {
    const fh = await this.direct?.catch(() => null);
    if (!fh || this.directClosed) return;
    this.directClosed = true;
    await fh.close();
  }

  /** The socket belongs to QEMU, which removes it; a warm-up still running is stopped. */
  async cleanup(): Promise<void> {
    await this.direct?.catch(() => null);
    await Promise.all([this.prefetch?.stop(), this.closeDirect()]);
  }
}
