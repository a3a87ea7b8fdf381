/**
 * Reading and writing the header part of a save image on disk: the libvirt header, the XML,
 * the cookie, the zero padding and tsvirt's manifest inside that padding.
 */
import { unlink, type FileHandle } from 'node:fs/promises';
import { openRegularImage } from '../../util/image-path';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import {
  decodeSaveHeader,
  encodeSaveHeader,
  SAVE_HEADER_SIZE,
  SAVE_MAGIC,
  SAVE_PADDING,
  SAVE_PARTIAL_MAGIC,
  SAVE_VERSION,
  SaveImageFormat,
  splitSaveData,
  streamOffset,
  type SaveImageHeader,
} from './header';
import { decodeManifest, encodeManifest, manifestExtent, type SaveManifest } from './manifest';

/** Everything the front of an image says. */
export interface SaveImageInfo {
  header: SaveImageHeader;
  xml: string;
  cookie: string | null;
  /** tsvirt's extension, or null for a plain (e.g. libvirt-written) image. */
  manifest: SaveManifest | null;
  /** Offset of the memory stream (92 + data_len). */
  streamOffset: number;
  /** Size of the file in bytes. */
  fileSize: number;
}

/** What to put in front of the stream. */
export interface SaveImageStart {
  xml: string;
  cookie?: string | null;
  wasRunning: boolean;
  format?: SaveImageFormat;
}

function failed(detail: string, domain: ErrorDomain): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, domain, detail);
}

/** Reads up to `length` bytes at `position`, fewer only at end of file. */
export async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

async function writeAt(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Opens an existing image; never blocks on a FIFO and refuses anything but a regular file. */
function openImage(path: string, flags: 'r' | 'r+', domain: ErrorDomain): Promise<FileHandle> {
  return openRegularImage(path, flags, domain);
}

async function readInfo(fh: FileHandle, domain: ErrorDomain): Promise<SaveImageInfo & { data: Buffer }> {
  const header = decodeSaveHeader(await readAt(fh, SAVE_HEADER_SIZE, 0), domain);
  const data = await readAt(fh, header.dataLen, SAVE_HEADER_SIZE);
  const { xml, cookie } = splitSaveData(header, data, domain);
  if (header.cookieOffset && data.length < header.dataLen) throw failed('failed to read cookie', domain);
  const manifest = decodeManifest(data, domain);
  // The parallel format value is only meaningful with the manifest that says which layout.
  if (header.format === SaveImageFormat.TSVIRT_PARALLEL && manifest?.mode !== 'files' && manifest?.mode !== 'region') {
    throw failed(`unsupported save image format: ${header.format}`, domain);
  }
  const { size } = await fh.stat();
  return { header, xml, cookie, manifest, streamOffset: streamOffset(header), fileSize: size, data };
}

/**
 * Reads and checks an image's header, XML, cookie and manifest with libvirt's errors: a missing
 * file is SYSTEM_ERROR "cannot read domain image 'PATH': No such file or directory", a bad
 * header OPERATION_FAILED ("save image is incomplete", "image magic is incorrect", ...).
 */
export async function readSaveImageHeader(path: string, domain: ErrorDomain = ErrorDomain.QEMU): Promise<SaveImageInfo> {
  const fh = await openImage(path, 'r', domain);
  try {
    const { data: _data, ...info } = await readInfo(fh, domain);
    return info;
  } finally {
    await fh.close();
  }
}

/**
 * Writes the Part-magic header, the XML, the cookie and 64 KiB of zero padding at the start of
 * `fh`, as libvirt does before the stream. Returns the header to finalize later.
 */
export async function writeSaveImageStart(fh: FileHandle, start: SaveImageStart): Promise<SaveImageHeader> {
  const xml = Buffer.from(`${start.xml}\0`, 'utf8');
  const cookie = start.cookie ? Buffer.from(`${start.cookie}\0`, 'utf8') : Buffer.alloc(0);
  const header: SaveImageHeader = {
    magic: SAVE_PARTIAL_MAGIC,
    version: SAVE_VERSION,
    dataLen: xml.length + cookie.length + SAVE_PADDING,
    wasRunning: start.wasRunning,
    format: start.format ?? SaveImageFormat.RAW,
    cookieOffset: cookie.length ? xml.length : 0,
  };
  const front = Buffer.concat([encodeSaveHeader(header), xml, cookie, Buffer.alloc(SAVE_PADDING)]);
  await writeAt(fh, front, 0);
  return header;
}

/**
 * Stores the manifest at the end of the data area. Refuses (OPERATION_FAILED) when it would
 * overlap the XML or cookie.
 */
export async function writeSaveImageManifest(
  fh: FileHandle,
  header: SaveImageHeader,
  xmlAndCookieLen: number,
  manifest: SaveManifest,
  domain: ErrorDomain = ErrorDomain.QEMU,
): Promise<void> {
  const ext = encodeManifest(manifest);
  if (ext.length > header.dataLen - xmlAndCookieLen) {
    throw failed('save image manifest too large to fit in file', domain);
  }
  await writeAt(fh, ext, streamOffset(header) - ext.length);
}

/** Marks the image complete by rewriting the header with the Save magic (the very last write). */
export async function finalizeSaveImage(fh: FileHandle, header: SaveImageHeader): Promise<void> {
  header.magic = SAVE_MAGIC;
  await writeAt(fh, encodeSaveHeader(header), 0);
  await fh.datasync();
}

/** Options of {@link rewriteSaveImage}. */
export interface RewriteOptions {
  /** New XML; undefined keeps the stored one. */
  xml?: string;
  /** New was_running; undefined keeps it. */
  wasRunning?: boolean;
  domain?: ErrorDomain;
}

/**
 * Rewrites the XML and/or was_running of a complete image in place (save-image-define). The XML
 * must fit in data_len without reaching tsvirt's manifest, else OPERATION_FAILED "new xml too
 * large to fit in file"; the manifest and the stream are never touched.
 */
export async function rewriteSaveImage(path: string, opts: RewriteOptions): Promise<SaveImageInfo> {
  const domain = opts.domain ?? ErrorDomain.QEMU;
  const fh = await openImage(path, 'r+', domain);
  try {
    const info = await readInfo(fh, domain);
    const header = { ...info.header };
    const xml = Buffer.from(`${opts.xml ?? info.xml}\0`, 'utf8');
    const cookie = info.cookie !== null ? Buffer.from(`${info.cookie}\0`, 'utf8') : Buffer.alloc(0);
    const keep = manifestExtent(info.data);
    if (xml.length + cookie.length > header.dataLen - keep) throw failed('new xml too large to fit in file', domain);
    header.cookieOffset = cookie.length ? xml.length : 0;
    if (opts.wasRunning !== undefined) header.wasRunning = opts.wasRunning;
    const zeros = Buffer.alloc(header.dataLen - keep - xml.length - cookie.length);
    await writeAt(fh, Buffer.concat([encodeSaveHeader(header), xml, cookie, zeros]), 0);
    await fh.datasync();
    const { data: _data, ...rest } = info;
    return { ...rest, header, xml: opts.xml ?? info.xml };
  } finally {
    await fh.close();
  }
}

/**
 * The channel files (FILE.k) an existing image's manifest lists; none when there is no readable
 * image at `path`. Used to remove a whole image, or the leftovers of the image a save replaces.
 */
export async function imageChannelFiles(path: string, domain: ErrorDomain = ErrorDomain.QEMU): Promise<string[]> {
  try {
    const info = await readSaveImageHeader(path, domain);
    return (info.manifest?.files ?? []).filter((f) => f.name !== '').map((f) => `${path}${f.name}`);
  } catch {
    return [];
  }
}

/** Removes an image and the channel files its manifest lists (missing files are fine). */
export async function removeSaveImageFiles(path: string, domain: ErrorDomain = ErrorDomain.QEMU): Promise<void> {
  const channels = await imageChannelFiles(path, domain);
  await Promise.all([path, ...channels].map((p) => unlink(p).catch(() => undefined)));
}
