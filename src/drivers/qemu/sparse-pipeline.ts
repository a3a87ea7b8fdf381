/**
 * libvirt 11.2+'s `sparse` image format: one file, libvirt's header (format 6 = sparse), XML and
 * padding, then QEMU's `mapped-ram` stream written by QEMU itself through a `file:` URI at the
 * data offset. mapped-ram gives every RAM page a fixed place in the file (zero pages stay holes),
 * so N multifd channels write and read pages in parallel with positional I/O; BYPASS_CACHE is
 * QEMU's `direct-io` parameter. The layout is QEMU's, so libvirt restores tsvirt's images and
 * tsvirt restores libvirt's.
 *
 *   [libvirt header + XML + tsvirt manifest in the padding][mapped-ram stream (sparse)]
 *
 * tsvirt adds digests of N slices of the stream to its manifest (libvirt ignores it).
 * A restore hashes the slices while QEMU loads them and refuses the image, naming it, before the
 * guest's CPUs ever run. Needs (probed per binary): `mapped-ram`, `multifd` for more than one
 * channel, `direct-io` for BYPASS_CACHE; each is refused with OPERATION_UNSUPPORTED naming it.
 */
import { parseDomainXML } from '../../conf/domain-xml';
import { NONZERO_BLOCK_HASH, type SaveImageInfo } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { binaryCapabilities, missingCapability } from './capabilities';
import { emulatorFor } from './emulator';
import { hashFileRanges, splitRange, type FileHashes } from './file-range-hash';
import type { ImageManifestPart, RestorePipeline, SavePipeline, SavePipelineContext } from './save-pipeline';

const WHAT = "image_format 'sparse'";

function failed(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, detail);
}

/** What a sparse migration needs of QEMU, in the order it is checked. */
interface SparseNeeds {
  channels: number;
  bypassCache: boolean;
}

/**
 * The capabilities and parameters of a sparse migration, checked against what QEMU offers.
 * Every parameter QEMU has is set explicitly: `direct-io` stays on in QEMU after a save with
 * BYPASS_CACHE unless the next save turns it off.
 */
function sparseMigration(
  needs: SparseNeeds,
  capabilities: readonly string[],
  parameters: readonly string[],
): { capabilities: string[]; parameters: Record<string, unknown> } {
  const caps = needs.channels > 1 ? ['mapped-ram', 'multifd'] : ['mapped-ram'];
  for (const c of caps) if (!capabilities.includes(c)) throw missingCapability(WHAT, 'migration capability', c);
  if (needs.bypassCache && !parameters.includes('direct-io')) throw missingCapability(`${WHAT} with BYPASS_CACHE`, 'migration parameter', 'direct-io');
  const params: Record<string, unknown> = {};
  if (needs.channels > 1) params['multifd-channels'] = needs.channels;
  if (parameters.includes('direct-io')) params['direct-io'] = needs.bypassCache;
  return { capabilities: caps, parameters: params };
}

/**
 * `file:` URI of the stream at `offset` of `file`. QEMU splits the URI at ",offset=", so a path
 * with a comma could be misread: refused instead.
 */
function fileUri(file: string, offset: number): string {
  if (file.includes(',')) {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, `${WHAT} cannot use the path '${file}': QEMU's file: URI cannot carry a comma`);
  }
  return `file:${file},offset=${offset}`;
}

/** Save: QEMU writes the mapped-ram stream into the image itself; tsvirt hashes it afterwards. */
export class SparseSave implements SavePipeline {
  readonly uri: string;
  readonly capabilities: readonly string[];
  readonly parameters: Record<string, unknown>;
  private hashes: FileHashes | null = null;
  private pieces: ImageManifestPart['files'] = [];

  constructor(private readonly ctx: SavePipelineContext) {
    const m = sparseMigration({ channels: ctx.options.channels, bypassCache: ctx.options.bypassCache }, ctx.qemuCapabilities, ctx.qemuParameters);
    this.capabilities = m.capabilities;
    this.parameters = m.parameters;
    this.uri = fileUri(ctx.file, ctx.streamOffset);
  }

  async finish(signal: AbortSignal): Promise<void> {
    const { size } = await this.ctx.fh.stat();
    if (size <= this.ctx.streamOffset) throw failed(`QEMU wrote no memory stream into save image '${this.ctx.file}'`);
    // Mapped-ram leaves zero pages as holes: the zero-skipping digest hashes only what QEMU wrote.
    const ranges = splitRange(this.ctx.streamOffset, size, this.ctx.options.channels).map((r) => ({ ...r, algorithm: NONZERO_BLOCK_HASH }));
    this.hashes = hashFileRanges(this.ctx.file, ranges);
    const onAbort = (): void => this.hashes?.kill();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // The hashes read the pages back from the page cache while the disk takes them: the
      // flush QEMU's writes need anyway runs beside the hashing instead of after it.
      const [digests] = await Promise.all([this.hashes.digests, this.ctx.fh.datasync()]);
      this.pieces = this.hashes.ranges.map((r, i) => ({ name: '', channel: i + 1, offset: r.offset, length: r.length, sha256: digests[i], algorithm: r.algorithm }));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  manifest(): ImageManifestPart {
    if (!this.pieces.length) throw failed('sparse save did not finish');
    return { mode: 'sparse', channels: this.ctx.options.channels, compression: 'none', files: this.pieces };
  }

  cleanup(): void {
    this.hashes?.kill();
  }
}

/** Restore: QEMU reads the mapped-ram stream from the image; tsvirt checks it meanwhile. */
export class SparseRestore implements RestorePipeline {
  readonly extraFds: number[] = [];
  readonly uri: string;
  private hashes: FileHashes | null = null;

  private constructor(
    private readonly file: string,
    private readonly info: SaveImageInfo,
    readonly capabilities: readonly string[],
    readonly parameters: Record<string, unknown>,
  ) {
    this.uri = fileUri(file, info.streamOffset);
  }

  /**
   * Checks the image and what the guest's QEMU binary offers before any QEMU starts. Channels:
   * the caller's `parallel.channels`, else the image's (mapped-ram places every page at a fixed
   * offset, so any count reads any image), else one.
   */
  static async open(file: string, info: SaveImageInfo, channels: number | undefined, bypassCache: boolean): Promise<SparseRestore> {
    const m = info.manifest;
    if (m && m.mode !== 'sparse') throw failed(`save image '${file}' has format 'sparse' but a '${m.mode}' manifest`);
    for (const f of m?.files ?? []) {
      if (f.name !== '' || f.offset < info.streamOffset || f.offset + f.length > info.fileSize) {
        throw failed(`save image file '${file}' is truncated (${info.fileSize} bytes, expected ${f.offset + f.length})`);
      }
    }
    if (info.fileSize <= info.streamOffset) throw failed(`save image '${file}' holds no memory stream`);
    const caps = await binaryCapabilities(emulatorFor(parseDomainXML(info.xml)));
    const n = channels ?? m?.channels ?? 1;
    const mig = sparseMigration({ channels: n, bypassCache }, caps.migrationCapabilities, caps.migrationParameters);
    return new SparseRestore(file, info, mig.capabilities, mig.parameters);
  }

  spawned(): void {
    /* QEMU opens the image itself */
  }

  /** Starts checking the recorded slices alongside QEMU's load (both read the same pages). */
  async beforeIncoming(): Promise<void> {
    const files = this.info.manifest?.files ?? [];
    if (files.length) this.hashes = hashFileRanges(this.file, files.map((f) => ({ offset: f.offset, length: f.length, algorithm: f.algorithm })));
  }

  private async verdict(): Promise<void> {
    if (!this.hashes) return;
    const digests = await this.hashes.digests;
    const files = this.info.manifest!.files;
    const bad = files.findIndex((f, i) => f.sha256 !== digests[i]);
    if (bad >= 0) throw failed(`checksum mismatch in save image file '${this.file}' at offset ${files[bad].offset}`);
  }

  /** After QEMU's "completed", before the guest runs: every slice must match. */
  finish(): Promise<void> {
    return this.verdict();
  }

  /** A damaged image can make QEMU fail first: the checksum verdict names the image. */
  async failure(): Promise<VirError | null> {
    try {
      await this.verdict();
      return null;
    } catch (err) {
      return VirError.from(err, ErrorDomain.QEMU);
    }
  }

  cleanup(): void {
    this.hashes?.kill();
  }
}
