/**
 * Checking a test driver save image before a restore: every file of the manifest exists with
 * the recorded length and SHA-256, every channel file carries the expected channel header, and
 * the guest memory regenerates from the domain's UUID. Only reads: a failed check changes
 * nothing on disk. Every failure is OPERATION_FAILED naming the offending file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate as yieldNow, setTimeout as sleep } from 'node:timers/promises';
import { createPieceHash, readAt, type ManifestFile, type PieceHash, type SaveImageInfo, type SaveManifest } from '../../conf/save-image';
import { uuidBytes } from '../../conf/uuid';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import { runChannels } from './image';
import {
  CHUNK_SIZE,
  chunkCount,
  decodeChannelHeader,
  decodeChunkBody,
  decodeMainRecord,
  payloadChunk,
  payloadSeed,
  RECORD_SIZE,
  type MainRecord,
} from './payload';

function failed(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.TEST, detail);
}

async function openChecked(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw failed(`save image file '${path}' is missing`);
    throw VirError.system(ErrorDomain.TEST, `cannot read domain image '${path}'`, err);
  }
  const { size } = await fh.stat();
  return { fh, size };
}

/** What the restore needs from a verified image. */
export interface VerifiedImage {
  record: MainRecord;
  manifest: SaveManifest | null;
}

/** Reads a piece of a file chunk by chunk, checking each chunk against the payload. */
class PieceReader {
  private pos: number;
  private constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    start: number,
    private readonly end: number,
    private readonly hash: PieceHash,
  ) {
    this.pos = start;
  }

  /** A reader of [start, end) of `fh`, checked against `entry`'s digest if there is one. */
  static async open(fh: FileHandle, path: string, start: number, end: number, entry: ManifestFile | undefined): Promise<PieceReader> {
    return new PieceReader(fh, path, start, end, await createPieceHash(entry?.algorithm, ErrorDomain.TEST));
  }

  async take(n: number): Promise<Buffer> {
    if (this.pos + n > this.end) throw failed(`save image file '${this.path}' is truncated`);
    const b = await readAt(this.fh, n, this.pos);
    if (b.length < n) throw failed(`save image file '${this.path}' is truncated`);
    this.pos += n;
    this.hash.update(b);
    return b;
  }

  async chunk(rec: MainRecord, expected: Buffer): Promise<void> {
    let data: Buffer;
    if (rec.compression === 'none') {
      data = await this.take(expected.length);
    } else {
      const len = (await this.take(4)).readUInt32BE(0);
      try {
        data = await decodeChunkBody(await this.take(len), rec.compression);
      } catch (err) {
        if (err instanceof VirError) throw err;
        throw failed(`save image file '${this.path}' is corrupt: bad compressed data`);
      }
    }
    if (!data.equals(expected)) {
      throw failed(`save image file '${this.path}' is corrupt: guest memory does not match the domain`);
    }
  }

  finish(entry: ManifestFile | undefined): void {
    if (this.pos !== this.end) throw failed(`save image file '${this.path}' has trailing data`);
    if (entry && this.hash.digest() !== entry.sha256) {
      throw failed(`save image file '${this.path}' is corrupt (checksum mismatch)`);
    }
  }
}

async function pace(job: ActiveJob, delayMs: number): Promise<void> {
  job.throwIfAborted();
  if (delayMs > 0) await sleep(delayMs, undefined, { signal: job.signal }).catch(() => undefined);
  else await yieldNow();
  job.throwIfAborted();
}

function checkSize(path: string, size: number, expected: number): void {
  if (size !== expected) {
    throw failed(`save image file '${path}' has ${size} bytes, expected ${expected}`);
  }
}

/**
 * Verifies the image at `path` for the domain `uuid`, reporting progress on `job`. `info` is
 * what readSaveImageHeader returned for it.
 */
export async function verifyTestImage(
  path: string,
  info: SaveImageInfo,
  uuid: string,
  job: ActiveJob,
  chunkDelayMs: number,
): Promise<VerifiedImage> {
  const manifest = info.manifest;
  const { fh: main, size: mainSize } = await openChecked(path);
  try {
    const record = decodeMainRecord(await readAt(main, RECORD_SIZE, info.streamOffset));
    if (!record) throw failed(`save image file '${path}' does not hold a test driver memory stream`);
    if (record.uuid !== uuid) throw failed(`save image file '${path}' holds the memory of another domain`);
    const mode = manifest?.mode ?? 'single';
    if (manifest && (manifest.channels !== record.channels || manifest.compression !== record.compression || manifest.uuid !== uuid)) {
      throw failed(`save image file '${path}': manifest does not match the memory stream`);
    }
    const size = record.payloadSize;
    const count = chunkCount(size);
    const seed = payloadSeed(uuid);
    const expected = (i: number): Buffer => payloadChunk(uuid, i, size, seed);
    const mainEntry = manifest?.files.find((f) => f.name === '' && f.channel === 0);
    job.setTotal(size);
    if (record.channels > 1) job.setChannels(record.channels);

    if (mode === 'single') {
      if (mainEntry) checkSize(path, mainSize, mainEntry.offset + mainEntry.length);
      const r = await PieceReader.open(main, path, info.streamOffset, mainSize, mainEntry);
      await r.take(RECORD_SIZE);
      for (let i = 0; i < count; i++) {
        await r.chunk(record, expected(i));
        job.addProcessed(Math.min(CHUNK_SIZE, size - i * CHUNK_SIZE));
        await pace(job, chunkDelayMs);
      }
      r.finish(mainEntry);
    } else if (mode === 'files') {
      await verifyChannelFiles(path, manifest!, record, job, chunkDelayMs, expected, count);
      const r = await PieceReader.open(main, path, info.streamOffset, mainSize, mainEntry);
      await r.take(RECORD_SIZE);
      r.finish(mainEntry);
    } else {
      const ram = manifest!.ram;
      if (!ram || ram.size !== size) throw failed(`save image file '${path}': manifest has no RAM region`);
      checkSize(path, mainSize, ram.offset + ram.size);
      const regions = manifest!.files.filter((f) => f.channel > 0);
      await runChannels(regions.length, async (k, check) => {
        const entry = regions[k - 1];
        const r = await PieceReader.open(main, path, entry.offset, entry.offset + entry.length, entry);
        const first = (entry.offset - ram.offset) / CHUNK_SIZE;
        for (let i = first; i < count && (i - first) * CHUNK_SIZE < entry.length; i++) {
          await r.chunk(record, expected(i));
          job.addProcessed(Math.min(CHUNK_SIZE, size - i * CHUNK_SIZE), k);
          await pace(job, chunkDelayMs);
          check();
        }
        r.finish(entry);
      });
    }
    return { record, manifest };
  } finally {
    await main.close();
  }
}

async function verifyChannelFiles(
  path: string,
  manifest: SaveManifest,
  record: MainRecord,
  job: ActiveJob,
  chunkDelayMs: number,
  expected: (i: number) => Buffer,
  count: number,
): Promise<void> {
  const n = record.channels;
  const entries = manifest.files.filter((f) => f.name !== '');
  for (let k = 1; k <= n; k++) {
    if (!entries.some((e) => e.name === `.${k}` && e.channel === k)) {
      throw failed(`save image '${path}': manifest lists no file for channel ${k}`);
    }
  }
  if (entries.length !== n) throw failed(`save image '${path}': manifest lists ${entries.length} channel files for ${n} channels`);
  // Check presence and sizes of every file before reading any data.
  const opened: Array<{ fh: FileHandle; size: number; file: string; entry: ManifestFile }> = [];
  try {
    for (let k = 1; k <= n; k++) {
      const entry = entries.find((e) => e.channel === k)!;
      const file = `${path}${entry.name}`;
      const { fh, size } = await openChecked(file);
      opened.push({ fh, size, file, entry });
      checkSize(file, size, entry.offset + entry.length);
    }
    const uuidHex = uuidBytes(manifest.uuid).toString('hex');
    await runChannels(n, async (k, check) => {
      const { fh, file, entry } = opened[k - 1];
      const r = await PieceReader.open(fh, file, entry.offset, entry.offset + entry.length, entry);
      const hdr = decodeChannelHeader(await r.take(RECORD_SIZE));
      if (!hdr) throw failed(`save image file '${file}' has no channel header`);
      if (hdr.channel !== k || hdr.channels !== n || hdr.uuidHex !== uuidHex) {
        throw failed(`save image file '${file}' carries channel ${hdr.channel} of ${hdr.channels}, expected channel ${k} of ${n}`);
      }
      for (let i = k - 1; i < count; i += n) {
        await r.chunk(record, expected(i));
        job.addProcessed(Math.min(CHUNK_SIZE, record.payloadSize - i * CHUNK_SIZE), k);
        await pace(job, chunkDelayMs);
        check();
      }
      r.finish(entry);
    });
  } finally {
    await Promise.all(opened.map((o) => o.fh.close()));
  }
}
