/**
 * libvirt's QEMU save image header, version 2 (qemu_saveimage.h's virQEMUSaveHeader): 92 bytes,
 * host order (little-endian on x86), followed by the NUL-terminated domain XML, an optional
 * NUL-terminated cookie and zero padding, `data_len` bytes in all.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/** Magic of a complete image. */
export const SAVE_MAGIC = 'LibvirtQemudSave';
/** Magic written first and kept until the image is complete. */
export const SAVE_PARTIAL_MAGIC = 'LibvirtQemudPart';
/** Header version libvirt writes and the highest it reads. */
export const SAVE_VERSION = 2;
/** sizeof(virQEMUSaveHeader). */
export const SAVE_HEADER_SIZE = 92;
/** Room left after XML and cookie so the XML can be edited in place later. */
export const SAVE_PADDING = 64 * 1024;

/** Stream formats of the header's `format` field; on-disk values, never reused. */
export enum SaveImageFormat {
  RAW = 0,
  GZIP = 1,
  BZIP2 = 2,
  XZ = 3,
  LZOP = 4,
  ZSTD = 5,
  SPARSE = 6,
  /**
   * tsvirt's parallel layouts ('files', 'region'; the manifest says which). libvirt numbers its
   * formats upwards from 0, so it never reaches this value and refuses such an image with
   * "unsupported save image format" instead of loading the main file alone, which does not
   * hold the whole guest (libvirt 9.0 was seen to start a guest from it). Images written before
   * this value existed say RAW and are told apart by their manifest.
   */
  TSVIRT_PARALLEL = 0x54535650,
}

/** `image_format` names in the order of their values. */
export const SAVE_IMAGE_FORMAT_NAMES = ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'] as const;

/** The name of a header format as reports print it ('parallel' for tsvirt's own layouts). */
export function saveImageFormatName(format: number): string {
  if (format === SaveImageFormat.TSVIRT_PARALLEL) return 'parallel';
  return SAVE_IMAGE_FORMAT_NAMES[format] ?? String(format);
}

/** The decoded header. */
export interface SaveImageHeader {
  magic: string;
  version: number;
  /** Bytes after the header up to the migration stream: XML + cookie + padding. */
  dataLen: number;
  wasRunning: boolean;
  format: SaveImageFormat;
  /** XML length with its NUL when a cookie follows, else 0. */
  cookieOffset: number;
}

/** The offset of the migration stream in the file. */
export function streamOffset(h: Pick<SaveImageHeader, 'dataLen'>): number {
  return SAVE_HEADER_SIZE + h.dataLen;
}

/** Encodes a header, little-endian, unused words zero. */
export function encodeSaveHeader(h: SaveImageHeader): Buffer {
  const b = Buffer.alloc(SAVE_HEADER_SIZE);
  b.write(h.magic, 0, 16, 'latin1');
  b.writeUInt32LE(h.version, 16);
  b.writeUInt32LE(h.dataLen, 20);
  b.writeUInt32LE(h.wasRunning ? 1 : 0, 24);
  b.writeUInt32LE(h.format, 28);
  b.writeUInt32LE(h.cookieOffset, 32);
  return b;
}

function failed(detail: string, domain: ErrorDomain): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, domain, detail);
}

/**
 * Decodes and checks a header with libvirt's messages and in its order: incomplete / wrong magic,
 * version (retrying byte-swapped when it looks too new), data length, format.
 */
export function decodeSaveHeader(buf: Buffer, domain: ErrorDomain = ErrorDomain.QEMU): SaveImageHeader {
  if (buf.length < SAVE_HEADER_SIZE) throw failed('failed to read qemu header', domain);
  const magic = buf.toString('latin1', 0, 16);
  if (magic !== SAVE_MAGIC) {
    if (magic === SAVE_PARTIAL_MAGIC) throw failed('save image is incomplete', domain);
    throw failed('image magic is incorrect', domain);
  }
  let read = (off: number): number => buf.readUInt32LE(off);
  if (read(16) > SAVE_VERSION) read = (off: number): number => buf.readUInt32BE(off);
  const version = read(16);
  if (version > SAVE_VERSION) {
    throw failed(`image version is not supported (${version} > ${SAVE_VERSION})`, domain);
  }
  const dataLen = read(20);
  if (dataLen === 0 || dataLen > 0x7fffffff) {
    throw failed(`invalid header data length: ${dataLen | 0}`, domain);
  }
  const format = read(28);
  if (format >= SAVE_IMAGE_FORMAT_NAMES.length && format !== SaveImageFormat.TSVIRT_PARALLEL) {
    throw failed(`unsupported save image format: ${format}`, domain);
  }
  return { magic, version, dataLen, wasRunning: read(24) !== 0, format, cookieOffset: read(32) };
}

/** Splits the data area into the XML and the cookie (both without their NUL). */
export function splitSaveData(h: SaveImageHeader, data: Buffer, domain: ErrorDomain = ErrorDomain.QEMU): { xml: string; cookie: string | null } {
  const xmlLen = h.cookieOffset ? h.cookieOffset : h.dataLen;
  if (data.length < h.dataLen || xmlLen > h.dataLen) throw failed('failed to read domain XML', domain);
  const xmlEnd = data.indexOf(0, 0);
  const xml = data.toString('utf8', 0, xmlEnd >= 0 && xmlEnd < xmlLen ? xmlEnd : xmlLen);
  if (!h.cookieOffset) return { xml, cookie: null };
  const cEnd = data.indexOf(0, xmlLen);
  const cookie = data.toString('utf8', xmlLen, cEnd >= 0 && cEnd < h.dataLen ? cEnd : h.dataLen);
  return { xml, cookie };
}
