/**
 * Writing a test driver save image: libvirt's header (Part magic), the XML, the padding, the
 * memory stream (single stream, RFC-style FILE.k channel files, or one region per channel in
 * the main file), then fdatasync, the manifest, and the Save magic last.
 *
 * Replacement policy: everything is written to hidden temporary files next to FILE and renamed
 * into place only once complete (channel files first, the main file last), so an existing image
 * at FILE survives a failed or aborted save, and no Save-magic image is ever left by a failure.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { setImmediate as yieldNow, setTimeout as sleep } from 'node:timers/promises';
import {
  finalizeSaveImage,
  imageChannelFiles,
  SAVE_HEADER_SIZE,
  writeSaveImageManifest,
  writeSaveImageStart,
  type ManifestFile,
  type SaveCompression,
  type SaveImageMode,
  type SaveManifest,
} from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ImageTarget } from '../../util/image-path';
import type { ActiveJob } from '../common/domain-job';
import {
  CHUNK_SIZE,
  chunkCount,
  encodeChannelHeader,
  encodeChunk,
  encodeMainRecord,
  payloadChunk,
  payloadSeed,
  RECORD_SIZE,
} from './payload';

/** What to save. */
export interface WriteImageRequest {
  /** The path the caller named (for messages). */
  path: string;
  /** Where the image is written and renamed to (see prepareImageTarget). */
  target: ImageTarget;
  xml: string;
  wasRunning: boolean;
  uuid: string;
  payloadSize: number;
  channels: number;
  mode: SaveImageMode;
  compression: SaveCompression;
  /** Delay after each chunk (URI `chunk_delay_ms`), so tests can watch and abort. */
  chunkDelayMs: number;
  job: ActiveJob;
}

/** Alignment of the RAM area in region mode (a page). */
export const REGION_ALIGN = 4096;


/** Path of channel k's file for an image at `path` (the RFC's FILE.k). */
export function channelPath(path: string, k: number): string {
  return `${path}.${k}`;
}

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Between chunks: notice aborts, let the event loop run, honour the test delay. */
async function pace(job: ActiveJob, delayMs: number): Promise<void> {
  job.throwIfAborted();
  if (delayMs > 0) {
    try {
      await sleep(delayMs, undefined, { signal: job.signal });
    } catch {
      /* aborted while sleeping: reported just below */
    }
  } else {
    await yieldNow();
  }
  job.throwIfAborted();
}

interface Piece {
  hash: Hash;
  length: number;
}

function piece(): Piece {
  return { hash: createHash('sha256'), length: 0 };
}

function add(p: Piece, data: Buffer): void {
  p.hash.update(data);
  p.length += data.length;
}

/** Manifest file names of an existing image at `path` (to clean up stale channel files). */
/** Writes a complete image at `req.path`; on any failure nothing new is left on disk. */
export async function writeTestImage(req: WriteImageRequest): Promise<void> {
  const { job, uuid, payloadSize: size, channels, compression } = req;
  const tmp = req.target.tempPath;
  const finalPath = req.target.finalPath;
  const handles: FileHandle[] = [];
  const created: string[] = [];
  const openNew = async (p: string): Promise<FileHandle> => {
    let fh: FileHandle;
    try {
      fh = await open(p, 'wx', 0o600);
    } catch (err) {
      throw VirError.system(ErrorDomain.TEST, `Failed to create file '${req.path}'`, err);
    }
    created.push(p);
    handles.push(fh);
    return fh;
  };
  try {
    const main = await openNew(tmp);
    const header = await writeSaveImageStart(main, { xml: req.xml, wasRunning: req.wasRunning });
    const xmlLen = Buffer.byteLength(req.xml) + 1;
    const streamOff = SAVE_HEADER_SIZE + header.dataLen;
    const record = encodeMainRecord({ channels, payloadSize: size, compression, uuid });
    await writeAll(main, record, streamOff);
    const mainPiece = piece();
    add(mainPiece, record);
    job.setTotal(size);
    if (channels > 1) job.setChannels(channels);
    const seed = payloadSeed(uuid);
    const count = chunkCount(size);
    const files: ManifestFile[] = [];
    let ram: SaveManifest['ram'];

    if (req.mode === 'single') {
      let pos = streamOff + RECORD_SIZE;
      for (let i = 0; i < count; i++) {
        const raw = payloadChunk(uuid, i, size, seed);
        const enc = await encodeChunk(raw, compression);
        await writeAll(main, enc, pos);
        pos += enc.length;
        add(mainPiece, enc);
        job.addProcessed(raw.length);
        await pace(job, req.chunkDelayMs);
      }
    } else if (req.mode === 'files') {
      const chFiles = await Promise.all(
        Array.from({ length: channels }, (_, j) => openNew(channelPath(tmp, j + 1))),
      );
      const pieces = await runChannels(channels, async (k, check) => {
        const fh = chFiles[k - 1];
        const p = piece();
        const hdr = encodeChannelHeader(uuid, k, channels);
        await writeAll(fh, hdr, 0);
        add(p, hdr);
        for (let i = k - 1; i < count; i += channels) {
          const raw = payloadChunk(uuid, i, size, seed);
          const enc = await encodeChunk(raw, compression);
          await writeAll(fh, enc, p.length);
          add(p, enc);
          job.addProcessed(raw.length, k);
          await pace(job, req.chunkDelayMs);
          check();
        }
        await fh.datasync();
        return p;
      });
      pieces.forEach((p, j) =>
        files.push({ name: `.${j + 1}`, channel: j + 1, offset: 0, length: p.length, sha256: p.hash.digest('hex') }),
      );
    } else {
      if (compression !== 'none') {
        throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.TEST, "parallel.mode 'region' does not support compression");
      }
      const ramOff = Math.ceil((streamOff + RECORD_SIZE) / REGION_ALIGN) * REGION_ALIGN;
      ram = { offset: ramOff, size };
      const per = Math.ceil(count / channels);
      const pieces = await runChannels(channels, async (k, check) => {
        const p = piece();
        const first = (k - 1) * per;
        for (let i = first; i < Math.min(count, first + per); i++) {
          const raw = payloadChunk(uuid, i, size, seed);
          await writeAll(main, raw, ramOff + i * CHUNK_SIZE);
          add(p, raw);
          job.addProcessed(raw.length, k);
          await pace(job, req.chunkDelayMs);
          check();
        }
        return { p, offset: ramOff + first * CHUNK_SIZE };
      });
      pieces.forEach(({ p, offset }, j) =>
        files.push({ name: '', channel: j + 1, offset, length: p.length, sha256: p.hash.digest('hex') }),
      );
    }

    files.unshift({ name: '', channel: 0, offset: streamOff, length: mainPiece.length, sha256: mainPiece.hash.digest('hex') });
    await main.datasync();
    const manifest: SaveManifest = { version: 1, mode: req.mode, channels, compression, uuid, files, ram };
    await writeSaveImageManifest(main, header, xmlLen, manifest, ErrorDomain.TEST);
    job.throwIfAborted();
    await finalizeSaveImage(main, header);
    await Promise.all(handles.splice(0).map((h) => h.close()));

    const stale = await imageChannelFiles(finalPath, ErrorDomain.TEST);
    for (let k = 1; req.mode === 'files' && k <= channels; k++) {
      await rename(channelPath(tmp, k), channelPath(finalPath, k));
    }
    await rename(tmp, finalPath);
    created.length = 0;
    const kept = new Set(files.filter((f) => f.name !== '').map((f) => `${finalPath}${f.name}`));
    await Promise.all(stale.filter((p) => !kept.has(p)).map((p) => unlink(p).catch(() => undefined)));
  } catch (err) {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    await Promise.all(created.map((p) => unlink(p).catch(() => undefined)));
    throw VirError.from(err, ErrorDomain.TEST);
  }
}

/**
 * Runs one worker per channel concurrently. The first failure stops the others at their next
 * chunk and is the error reported.
 */
export async function runChannels<T>(
  channels: number,
  work: (k: number, check: () => void) => Promise<T>,
): Promise<T[]> {
  let firstError: unknown;
  const stopped = new Error('channel stopped');
  const check = (): void => {
    if (firstError !== undefined) throw stopped;
  };
  const results = await Promise.all(
    Array.from({ length: channels }, async (_, j) => {
      try {
        return await work(j + 1, check);
      } catch (err) {
        if (firstError === undefined && err !== stopped) firstError = err;
        return undefined;
      }
    }),
  );
  if (firstError !== undefined) throw firstError;
  return results as T[];
}
