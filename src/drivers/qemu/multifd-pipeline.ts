/**
 * The RFC's multi-file layout as save/restore pipelines: QEMU's multifd migration with N
 * channels over a UNIX socket (QEMU 7.2 has no file transport), the main stream after the
 * header in FILE and channel k in FILE.k, each stream's SHA-256 in the image's manifest.
 * Restore replays the files into a multifd incoming migration, main stream first, verifying every
 * checksum before the driver lets the guest run.
 */
import { rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ManifestFile, SaveImageInfo } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import { MultifdSink, feedMultifd, type FeedSource } from './multifd-relay';
import type { ImageManifestPart, RestorePipeline, SavePipeline, SavePipelineContext } from './save-pipeline';

/** Path of channel k's file, as the RFC names them. */
export function channelFile(file: string, k: number): string {
  return `${file}.${k}`;
}

function failed(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, detail);
}

/** Multifd save into FILE + FILE.1..N. */
export class MultifdSave implements SavePipeline {
  readonly uri: string;
  readonly capabilities = ['multifd'];
  readonly parameters: Record<string, unknown>;
  private sink: MultifdSink | null = null;
  private streams: ManifestFile[] = [];

  constructor(private readonly ctx: SavePipelineContext) {
    const channels = ctx.options.channels;
    this.uri = `unix:${ctx.socketPath}`;
    this.parameters = { 'multifd-channels': channels, 'multifd-compression': ctx.options.compression };
  }

  async prepare(job: ActiveJob): Promise<void> {
    job.setChannels(this.ctx.options.channels);
    this.sink = await MultifdSink.listen({
      socketPath: this.ctx.socketPath,
      channels: this.ctx.options.channels,
      mainFile: this.ctx.fh,
      mainOffset: this.ctx.streamOffset,
      channelPath: (k) => channelFile(this.ctx.file, k),
      onProgress: (channel, bytes) => job.addChannelBytes(channel, bytes),
    });
  }

  async finish(signal: AbortSignal): Promise<void> {
    if (!this.sink) throw failed('multifd save was not prepared');
    // QEMU reports "completed" before its channels' last bytes are read: wait for every EOF.
    const onAbort = (): void => this.sink?.fail(failed('multifd save canceled'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const streams = await this.sink.done;
      this.streams = streams.map((s) => ({
        name: s.channel === 0 ? '' : `.${s.channel}`,
        channel: s.channel,
        offset: s.offset,
        length: s.length,
        sha256: s.sha256,
      }));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  manifest(): ImageManifestPart {
    return { mode: 'files', channels: this.ctx.options.channels, compression: this.ctx.options.compression, files: this.streams };
  }

  outputs(): string[] {
    return Array.from({ length: this.ctx.options.channels }, (_, i) => channelFile(this.ctx.file, i + 1));
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

/**
 * Checks a multi-file image before any QEMU starts: the channel count agrees with the files and
 * with what the caller asked, and every file is there with its recorded length. Names the file
 * at fault, and changes nothing on disk.
 */
export async function checkMultifdImage(file: string, info: SaveImageInfo, wantChannels?: number): Promise<FeedSource[]> {
  const m = info.manifest!;
  if (wantChannels !== undefined && wantChannels !== m.channels) {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      ErrorDomain.QEMU,
      `image '${file}' was saved with ${m.channels} parallel channels, not ${wantChannels}`,
    );
  }
  const byChannel = new Map(m.files.map((f) => [f.channel, f]));
  if (m.files.length !== m.channels + 1 || byChannel.size !== m.channels + 1 || !byChannel.has(0)) {
    throw failed(`save image '${file}' manifest lists ${m.files.length} streams for ${m.channels} channels`);
  }
  const sources: FeedSource[] = [];
  for (let k = 0; k <= m.channels; k++) {
    const f = byChannel.get(k);
    if (!f) throw failed(`save image '${file}' manifest has no stream for channel ${k}`);
    const p = k === 0 ? file : channelFile(file, k);
    let size: number;
    try {
      size = (await stat(p)).size;
    } catch (err) {
      throw VirError.system(ErrorDomain.QEMU, `cannot read parallel save channel file '${p}'`, err);
    }
    if (size < f.offset + f.length) throw failed(`save image file '${p}' is truncated (${size} bytes, expected ${f.offset + f.length})`);
    if (k > 0 && size > f.length) throw failed(`save image file '${p}' is longer than recorded (${size} bytes, expected ${f.length})`);
    sources.push({ channel: k, path: p, offset: f.offset, length: f.length, sha256: f.sha256 });
  }
  return sources;
}

/** Multifd restore: QEMU listens, tsvirt feeds the files and verifies them. */
export class MultifdRestore implements RestorePipeline {
  readonly extraFds: number[] = [];
  readonly uri: string;
  readonly capabilities = ['multifd'];
  readonly parameters: Record<string, unknown>;
  private feeding: Promise<void> | null = null;
  private job?: ActiveJob;

  constructor(
    private readonly sources: FeedSource[],
    private readonly channels: number,
    compression: string,
    private readonly socketPath: string,
  ) {
    this.uri = `unix:${socketPath}`;
    this.parameters = { 'multifd-channels': channels, 'multifd-compression': compression };
  }

  attach(job: ActiveJob): void {
    this.job = job;
    job.setChannels(this.channels);
    job.setTotal(this.sources.reduce((n, s) => n + s.length, 0));
  }

  spawned(): void {
    /* no fds to hand over */
  }

  afterIncoming(): Promise<void> {
    this.feeding = feedMultifd({
      socketPath: this.socketPath,
      sources: this.sources,
      onProgress: (channel, bytes) => this.job?.addProcessed(bytes, channel > 0 ? channel : undefined),
      signal: this.job?.signal,
    });
    return this.feeding;
  }

  async finish(): Promise<void> {
    await this.feeding;
  }

  cleanup(): void {
    // Synchronous: the caller reports the failure right after, with nothing left in the run dir.
    rmSync(this.socketPath, { force: true });
  }
}
