/**
 * Save and restore "pipelines": how the migration stream travels between QEMU and the image.
 * The driver's save/restore code is written against these interfaces only, so further layouts
 * (multifd channel files, x-ignore-shared RAM regions) plug in as new pipelines chosen by
 * {@link createSavePipeline} / {@link createRestorePipeline} without touching the job logic.
 *
 * The single-stream pipeline uses `exec:`: QEMU 7.2 has no `file:` URI and Node cannot pass an
 * fd over the QMP socket (no SCM_RIGHTS), so QEMU pipes the stream into a small shell pipeline
 * (cat, a compressor, or an O_DIRECT dd). The data never passes through Node. The pipeline
 * reports its exit status through a "done" file, because QEMU, not tsvirt, is its parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, openSync, closeSync, existsSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { cmdline, groupMembers } from '../../util/proc';
import { SaveImageFormat, type ManifestFile, type SaveImageInfo, type SaveManifest } from '../../conf/save-image';
import type { FileHandle } from 'node:fs/promises';
import type { ActiveJob } from '../common/domain-job';
import type { SaveOptions } from '../common/save-options';
import { findInPath, readerPipeline, requireCompressor, shQuote, writerPipeline } from './stream-commands';
import { hashFileRanges, type FileHashes } from './file-range-hash';
import { killProcessGroup } from './process';
import { MultifdRestore, MultifdSave, checkMultifdImage } from './multifd-pipeline';
import { RegionRestore, RegionSave } from './region-pipeline';
import { InstantRegionRestore } from './instant-restore';
import { SparseRestore, SparseSave } from './sparse-pipeline';
import { writerScratch, type WriterScratch } from './paths';
import type { RamFromFile } from './memory-backend';

/** What a save pipeline is given. */
export interface SavePipelineContext {
  file: string;
  /** 92 + data_len: where the stream starts in `file`. */
  streamOffset: number;
  options: SaveOptions;
  /** Scratch file path for the writer's exit status (in the run dir). */
  doneFile: string;
  /** Names of the migration capabilities this QEMU knows. */
  qemuCapabilities: readonly string[];
  /** Names of the migration parameters this QEMU knows (e.g. "direct-io"). */
  qemuParameters: readonly string[];
  /** The image, open for writing, its header already in place. */
  fh: FileHandle;
  /** UNIX socket path for pipelines that receive the stream over a socket. */
  socketPath: string;
  /** The QEMU process (region mode reads guest RAM through /proc/PID/fd). */
  pid: number;
  /** Recognises the guest's RAM backend among QEMU's open files (region mode). */
  isRam: (linkTarget: string) => boolean;
  /** Guest RAM size in bytes. */
  ramBytes: number;
}

/** What a pipeline contributes to the image's manifest (the driver adds version and uuid). */
export type ImageManifestPart = Omit<SaveManifest, 'version' | 'uuid'>;

/** The stream transport of one save. */
export interface SavePipeline {
  /** URI for QMP `migrate`. */
  readonly uri: string;
  /** Capabilities to turn on besides `events` (every other known one is turned off). */
  readonly capabilities: readonly string[];
  /** Extra migration parameters (max-bandwidth is always set unlimited by the driver). */
  readonly parameters: Record<string, unknown>;
  /** Told once QEMU accepted `migrate`, i.e. once QEMU may have started the pipeline's helpers. */
  started?(): void;
  /** Work before `migrate`, with the guest paused: open listeners, copy RAM. */
  prepare?(job: ActiveJob): Promise<void>;
  /** After QEMU reported "completed": waits until every byte is in the file(s) and checks exit codes. */
  finish(signal: AbortSignal): Promise<void>;
  /** Why the pipeline's own side failed (a write error, say), if it did: preferred over QEMU's word. */
  failure?(): Promise<VirError | null>;
  /** The manifest to record after finish(); absent for a plain libvirt-compatible image. */
  manifest?(): ImageManifestPart;
  /** Files besides the image this save writes, removed with it when the save fails. */
  outputs?(): string[];
  /** Removes scratch files (never the image: the driver owns it); may wait for helpers to exit. */
  cleanup(): void | Promise<void>;
}

/** What a restore pipeline gives QEMU. */
export interface RestorePipeline {
  /** fds QEMU must inherit (fd 3, 4, ...): a file positioned at the stream, or a reader's pipe. */
  readonly extraFds: Array<number | NodeJS.ReadableStream>;
  /** URI for QMP `migrate-incoming`. */
  readonly uri: string;
  /** Capabilities to turn on besides `events`. */
  readonly capabilities: readonly string[];
  /** Instant restore: map guest RAM copy-on-write from this file instead of the domain's backend. */
  readonly ramFromFile?: RamFromFile;
  /** Migration parameters the destination must share with the source (multifd channels, compression). */
  readonly parameters?: Record<string, unknown>;
  /** Called once QEMU has inherited the fds: the driver's copies are closed. */
  spawned(): void;
  /** Gives the pipeline the restore job, for progress by channel. */
  attach?(job: ActiveJob): void;
  /** Work before `migrate-incoming` (region mode: RAM into the new guest's backend). */
  beforeIncoming?(pid: number): Promise<void>;
  /** Work after `migrate-incoming` (feeding a socket); settles when everything was sent and verified. */
  afterIncoming?(): Promise<void>;
  /** After "completed": checks the reader ended well. */
  finish(): Promise<void>;
  /**
   * After QEMU's load failed: the pipeline's own error if it has one (a read error, a damaged
   * stream), which names the image where QEMU only says the migration failed.
   */
  failure?(): Promise<VirError | null>;
  /** Kills helpers and closes fds. */
  cleanup(): void;
}

/** How long a failed load waits for the pipeline's helpers to report their own error. */
const FAILURE_REPORT_MS = 3000;

/** The error `p` rejects with within `ms`, or null when it resolves or is still pending. */
async function rejectionWithin(p: Promise<unknown>, ms: number): Promise<VirError | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([p.then(() => null, (err: unknown) => VirError.from(err, ErrorDomain.QEMU)), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Default highest bandwidth value libvirt passes ("unlimited"). */
export const UNLIMITED_BANDWIDTH = 9223372036853727232n;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function failed(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, detail);
}

function unsupportedMode(what: string): VirError {
  return VirError.report(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, what);
}

/** Reads a small status file the writer script produces; undefined while it is not there. */
function readSmallFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * Single stream through `exec:` into one file. QEMU runs a bash script of ours (its own child,
 * so its exit status comes back through a "done" file) that writes the stream and its SHA-256.
 */
class ExecStreamSave implements SavePipeline {
  readonly uri: string;
  readonly capabilities: readonly string[] = [];
  readonly parameters: Record<string, unknown> = {};
  private readonly scratch: WriterScratch;
  private digest: { length: number; sha256: string } | null = null;
  /**
   * The writer is QEMU's child, not ours: after a failed or cancelled migration it still runs
   * until its stdin closes, and then writes its status file.
   */
  private launched = false;

  constructor(private readonly ctx: SavePipelineContext) {
    this.scratch = writerScratch(ctx.doneFile);
    const f = this.scratch;
    const pipeline = writerPipeline(
      { file: ctx.file, streamOffset: ctx.streamOffset, format: ctx.options.imageFormat, bypassCache: ctx.options.bypassCache },
      { file: f.hash, tmp: f.hashTmp },
    );
    this.removeScratch();
    // The status goes to a temp name first so that the reader never sees a half-written file.
    writeFileSync(
      f.script,
      ['set -o pipefail', `echo $$ > ${shQuote(f.pid)}`, `exec 2>${shQuote(f.err)}`, pipeline, `echo $? > ${shQuote(f.statusTmp)} && mv ${shQuote(f.statusTmp)} ${shQuote(f.status)}`, ''].join('\n'),
      { mode: 0o600 },
    );
    // Its own process group (setsid execs in place: QEMU's child is no group leader), so a
    // cleanup can stop the script and every member of its pipeline at once. Without setsid
    // (util-linux) the group is QEMU's, and the cleanup leaves the writer alone (see stopWriter).
    this.uri = `exec:exec ${findInPath('setsid') ? 'setsid ' : ''}/bin/bash ${shQuote(f.script)}`;
  }

  /** The writer's exit status once it is known, or undefined when it is not there by `end`. */
  private async writerStatus(end: number, signal?: AbortSignal): Promise<VirError | null | undefined> {
    let text: string | undefined;
    while ((text = readSmallFile(this.scratch.status)) === undefined) {
      if (signal?.aborted || Date.now() > end) return undefined;
      await sleep(5);
    }
    const code = Number.parseInt(text.trim(), 10);
    if (code === 0) return null;
    const why = (readSmallFile(this.scratch.err) ?? '').trim();
    return failed(`failed to write save image '${this.ctx.file}': ${why || `writer exited with status ${code}`}`);
  }

  /** When QEMU's migration failed, the writer's own error (disk full, ...) says why. */
  async failure(): Promise<VirError | null> {
    return this.launched ? ((await this.writerStatus(Date.now() + 5_000)) ?? null) : null;
  }

  async finish(signal: AbortSignal): Promise<void> {
    const status = await this.writerStatus(Date.now() + 120_000, signal);
    if (status === undefined) throw failed(`save image writer for '${this.ctx.file}' did not finish`);
    if (status) throw status;
    // The script writes the hash before its status (the hasher is in its pipeline).
    const hash = readSmallFile(this.scratch.hash);
    if (hash === undefined) throw failed(`checksum of save image '${this.ctx.file}' was not produced`);
    const sha256 = hash.slice(0, 64);
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw failed(`checksum of save image '${this.ctx.file}' is unreadable`);
    const { size } = await this.ctx.fh.stat();
    this.digest = { length: size - this.ctx.streamOffset, sha256 };
  }

  manifest(): ImageManifestPart {
    if (!this.digest) throw failed('single-stream save did not finish');
    return { mode: 'single', channels: 1, compression: 'none', files: [{ name: '', channel: 0, offset: this.ctx.streamOffset, ...this.digest }] };
  }

  started(): void {
    this.launched = true;
  }

  /**
   * Waits (briefly) for the writer's status so it is not written after the cleanup; a writer
   * still busy then (a compressor draining a long tail, a stalled disk) is killed, so nothing
   * writes into the run dir or the image once the save has answered.
   */
  async cleanup(): Promise<void> {
    for (let i = 0; this.launched && i < 400 && !existsSync(this.scratch.status); i++) await sleep(5);
    if (this.launched && !existsSync(this.scratch.status)) await stopWriter(this.scratch);
    this.removeScratch();
  }

  private removeScratch(): void {
    for (const f of Object.values(this.scratch)) rmSync(f, { force: true });
  }
}

/**
 * Kills the writer script's process group (the script, tee, compressor, hasher, dd, also those
 * it left behind), found from its pid file; a pid now running another program is left alone.
 * Then waits until no member runs (the script may stay a zombie until QEMU reaps it).
 */
async function stopWriter(scratch: WriterScratch): Promise<void> {
  const pid = Number.parseInt(readSmallFile(scratch.pid) ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 1) return;
  // While the script still runs, it must be the script and lead its group: never QEMU's own
  // group (a script started without setsid). A zombie's cmdline is empty.
  const argv = cmdline(pid) ?? [];
  if (argv.length > 0 && (!argv.includes(scratch.script) || !groupMembers(pid).includes(pid))) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 200 && groupMembers(pid).length > 0; i++) await sleep(5);
}

/**
 * Chooses the save pipeline for the resolved options: one stream through `exec:`, the RFC's
 * multifd files, or the single-file region layout.
 */
export function createSavePipeline(ctx: SavePipelineContext): SavePipeline {
  if (ctx.options.imageFormat === SaveImageFormat.SPARSE) {
    // libvirt 11.2's 'sparse' format is QEMU's mapped-ram; what it needs is checked there.
    return new SparseSave(ctx);
  }
  if (ctx.options.mode === 'single') {
    if (ctx.options.compression !== 'none') {
      throw VirError.report(
        ErrorCode.CONFIG_UNSUPPORTED,
        ErrorDomain.QEMU,
        "parallel.compression compresses multifd channels (parallel.channels > 1); compress a single stream with image_format",
      );
    }
    return new ExecStreamSave(ctx);
  }
  if (ctx.options.imageFormat !== SaveImageFormat.RAW) {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, "image_format cannot be combined with a parallel save: use 'parallel.compression'");
  }
  if (ctx.options.mode === 'files') {
    requireCapability(ctx.qemuCapabilities, 'multifd', 'parallel save to multiple files');
    return new MultifdSave(ctx);
  }
  requireCapability(ctx.qemuCapabilities, 'x-ignore-shared', "parallel save in 'region' mode");
  return new RegionSave(ctx);
}

function requireCapability(caps: readonly string[], cap: string, what: string): void {
  if (!caps.includes(cap)) throw unsupportedMode(`${what} needs the QEMU migration capability '${cap}', which this QEMU lacks`);
}

/** Reads exactly `n` bytes sequentially so the fd's offset (shared with QEMU) lands on the stream. */
function skipBytes(fd: number, n: number): void {
  const buf = Buffer.alloc(Math.min(n, 1 << 20));
  let left = n;
  while (left > 0) {
    const got = readSync(fd, buf, 0, Math.min(left, buf.length), null);
    if (got === 0) throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'failed to read qemu header');
    left -= got;
  }
}

/**
 * Checks a single-stream image's recorded SHA-256 while QEMU loads it: a worker thread reads the
 * stream alongside QEMU (from the page cache QEMU fills), off Node's event loop. The
 * driver asks for the verdict (finish) before the guest's CPUs ever run.
 */
class StreamChecksum {
  private readonly hash: FileHashes;
  private readonly verdict: Promise<void>;

  constructor(file: string, piece: ManifestFile, fileSize: number) {
    if (fileSize < piece.offset + piece.length) {
      throw failed(`save image file '${file}' is truncated (${fileSize} bytes, expected ${piece.offset + piece.length})`);
    }
    this.hash = hashFileRanges(file, [piece]);
    this.verdict = this.hash.digests.then(([hex]) => {
      if (hex !== piece.sha256) throw failed(`checksum mismatch in save image file '${file}' at offset ${piece.offset}`);
    });
    this.verdict.catch(() => undefined);
  }

  /** Settles once the whole stream was read: rejects naming the image when it was changed. */
  check(): Promise<void> {
    return this.verdict;
  }

  kill(): void {
    this.hash.kill();
  }
}

/** The checksum of a single-stream image's stream, when its manifest records one. */
function streamChecksum(file: string, info: SaveImageInfo): StreamChecksum | undefined {
  const piece = info.manifest?.mode === 'single' ? info.manifest.files.find((f) => f.channel === 0) : undefined;
  if (info.manifest?.mode === 'single' && !piece) throw failed(`save image '${file}' has an incomplete manifest`);
  return piece ? new StreamChecksum(file, piece, info.fileSize) : undefined;
}

/** Raw image through the page cache: QEMU reads the file itself (fd 3), no copy at all. */
class FdRestore implements RestorePipeline {
  readonly extraFds: number[];
  readonly uri = 'fd:3';
  readonly capabilities: readonly string[] = [];
  private fd: number | null;

  constructor(
    file: string,
    offset: number,
    private readonly checksum?: StreamChecksum,
  ) {
    this.fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      skipBytes(this.fd, offset);
    } catch (err) {
      this.cleanup();
      throw err;
    }
    this.extraFds = [this.fd];
  }

  spawned(): void {
    this.closeFd();
  }

  async finish(): Promise<void> {
    await this.checksum?.check();
  }

  async failure(): Promise<VirError | null> {
    // The checksum reader reads the same file as QEMU: a read error reaches it too, with the path.
    return this.checksum ? rejectionWithin(this.checksum.check(), FAILURE_REPORT_MS) : null;
  }

  cleanup(): void {
    this.closeFd();
    this.checksum?.kill();
  }

  private closeFd(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Compressed or O_DIRECT images: a reader pipeline's stdout becomes QEMU's fd 3. */
class ReaderRestore implements RestorePipeline {
  readonly extraFds: NodeJS.ReadableStream[];
  readonly uri = 'fd:3';
  readonly capabilities: readonly string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; stderr: string }>;

  constructor(
    private readonly file: string,
    command: string,
    private readonly checksum?: StreamChecksum,
  ) {
    // Its own process group, so cleanup reaches every program of the pipe (dd, the decompressor).
    this.child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    this.child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve({ code, stderr })));
    this.extraFds = [this.child.stdout!];
  }

  spawned(): void {
    // QEMU holds its own copy; ours must not read (or keep the pipe open).
    this.child.stdout!.destroy();
  }

  async finish(): Promise<void> {
    const { code, stderr } = await this.exited;
    if (code !== 0) {
      throw failed(`failed to read save image '${this.file}': ${stderr.trim() || `reader exited with status ${code}`}`);
    }
    await this.checksum?.check();
  }

  async failure(): Promise<VirError | null> {
    const e = await rejectionWithin(this.finish(), FAILURE_REPORT_MS);
    // A reader cut off by QEMU's own failure only reports the broken pipe: QEMU's error says more.
    return e && !/broken pipe/i.test(e.message) ? e : null;
  }

  cleanup(): void {
    this.child.stdout?.destroy();
    killProcessGroup(this.child);
    this.checksum?.kill();
  }
}

/** What a restore pipeline is chosen from. */
export interface RestorePipelineContext {
  file: string;
  info: SaveImageInfo;
  bypassCache: boolean;
  /** `parallel.channels` the caller gave, which must agree with the image. */
  channels?: number;
  /** UNIX socket path for socket transports. */
  socketPath: string;
  /** `parallel.instant`: map a region image's RAM instead of copying it. */
  instant?: boolean;
}

/** Chooses how to feed an image's stream to QEMU, from what the image says about itself. */
export async function createRestorePipeline(ctx: RestorePipelineContext): Promise<RestorePipeline> {
  const { file, info } = ctx;
  const mode = info.manifest?.mode ?? 'single';
  if (ctx.instant && mode !== 'region') {
    throw VirError.report(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, `instant restore needs an image saved with parallel.mode 'region'; '${file}' is a '${mode}' image`);
  }
  if (info.header.format === SaveImageFormat.SPARSE) return SparseRestore.open(file, info, ctx.channels, ctx.bypassCache);
  if (mode === 'files') {
    const sources = await checkMultifdImage(file, info, ctx.channels);
    return new MultifdRestore(sources, info.manifest!.channels, info.manifest!.compression, ctx.socketPath);
  }
  if (ctx.channels !== undefined && ctx.channels !== (info.manifest?.channels ?? 1)) {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `image '${file}' was saved with ${info.manifest?.channels ?? 1} parallel channels, not ${ctx.channels}`);
  }
  if (mode === 'region') {
    return ctx.instant ? InstantRegionRestore.open(file, info, ctx.socketPath) : RegionRestore.open(file, info, ctx.socketPath);
  }
  const format = info.header.format as SaveImageFormat;
  requireCompressor(format);
  const reader = ctx.bypassCache || format !== SaveImageFormat.RAW ? readerPipeline({ file, streamOffset: info.streamOffset, format, bypassCache: ctx.bypassCache }) : null;
  const checksum = streamChecksum(file, info);
  try {
    return reader === null ? new FdRestore(file, info.streamOffset, checksum) : new ReaderRestore(file, reader, checksum);
  } catch (err) {
    checksum?.kill();
    throw err;
  }
}
