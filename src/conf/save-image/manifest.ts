/**
 * tsvirt's save image extension ("manifest"), documented in docs/save-image-format.md.
 *
 * It lives at the END of the header's data area, inside the zero padding libvirt leaves after
 * the XML and cookie and ignores on read, so an image stays readable by libvirt. A fixed footer
 * closes the data area: 8-byte magic "TSVIRTX\0", u32 LE version, u32 LE payload length; the
 * JSON payload sits right before the footer.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { PIECE_HASH_ALGORITHMS } from './piece-hash';

/** Footer magic. */
export const MANIFEST_MAGIC = Buffer.from('TSVIRTX\0', 'latin1');
/** Footer size: magic, version, payload length. */
export const MANIFEST_FOOTER_SIZE = 16;
/**
 * Newest version of the extension, written when a piece uses what it added; every version up
 * to it is read. 2 added a piece's `algorithm` and `data`: a reader of version 1 would take such
 * a digest for a damaged image, so it is told the version instead.
 */
export const MANIFEST_VERSION = 2;

/** How the memory stream is laid out. */
export type SaveImageMode = 'single' | 'files' | 'region' | 'sparse';
/** Compression of the channel data. */
export type SaveCompression = 'none' | 'zlib' | 'zstd';

/** One stored piece of the stream. */
export interface ManifestFile {
  /** '' for the main file, '.k' for channel k's file (FILE.k). */
  name: string;
  /** Channel number (1..N) for channel data, 0 for the main stream. */
  channel: number;
  /** Byte offset of the piece in its file. */
  offset: number;
  length: number;
  /** Lower-case hex digest of the piece, by `algorithm`. */
  sha256: string;
  /** How `sha256` was computed (piece-hash.ts); absent: SHA-256 of every byte. */
  algorithm?: string;
  /**
   * RAM regions: `[offset, length]` byte ranges of the piece, sorted and disjoint, outside of
   * which it is zeros; a restore reads only these. Absent: read the whole piece.
   */
  data?: Array<[number, number]>;
}

/** Whether `data` is a sorted list of disjoint ranges inside a piece of `length` bytes. */
function validDataRuns(data: unknown, length: number): boolean {
  if (data === undefined) return true;
  if (!Array.isArray(data)) return false;
  let end = 0;
  for (const run of data) {
    if (!Array.isArray(run) || run.length !== 2 || !Number.isSafeInteger(run[0]) || !Number.isSafeInteger(run[1])) return false;
    const [offset, len] = run as [number, number];
    if (offset < end || len <= 0 || offset + len > length) return false;
    end = offset + len;
  }
  return true;
}

/** The manifest payload. */
export interface SaveManifest {
  version: number;
  mode: SaveImageMode;
  channels: number;
  compression: SaveCompression;
  /** Domain UUID the image belongs to (QEMU's multifd channels carry it too). */
  uuid: string;
  files: ManifestFile[];
  /** 'region' mode: where guest RAM lies contiguously in the main file. */
  ram?: { offset: number; size: number };
}

function failed(detail: string, domain: ErrorDomain): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, domain, detail);
}

/** Payload + footer bytes for a manifest. */
export function encodeManifest(m: SaveManifest): Buffer {
  const payload = Buffer.from(JSON.stringify(m), 'utf8');
  const footer = Buffer.alloc(MANIFEST_FOOTER_SIZE);
  MANIFEST_MAGIC.copy(footer, 0);
  // Version 1 where nothing needs 2, so a tsvirt that reads only 1 still takes such images.
  footer.writeUInt32LE(m.files.some((f) => f.algorithm !== undefined || f.data !== undefined) ? MANIFEST_VERSION : 1, 8);
  footer.writeUInt32LE(payload.length, 12);
  return Buffer.concat([payload, footer]);
}

/** Size of the extension (payload + footer) found at the end of `data`, or 0 when absent. */
export function manifestExtent(data: Buffer): number {
  if (data.length < MANIFEST_FOOTER_SIZE) return 0;
  const footer = data.subarray(data.length - MANIFEST_FOOTER_SIZE);
  if (!footer.subarray(0, 8).equals(MANIFEST_MAGIC)) return 0;
  return footer.readUInt32LE(12) + MANIFEST_FOOTER_SIZE;
}

function isValid(m: unknown): m is SaveManifest {
  const o = m as SaveManifest;
  return (
    !!o &&
    typeof o === 'object' &&
    typeof o.version === 'number' &&
    ['single', 'files', 'region', 'sparse'].includes(o.mode) &&
    Number.isInteger(o.channels) &&
    o.channels >= 1 &&
    ['none', 'zlib', 'zstd'].includes(o.compression) &&
    typeof o.uuid === 'string' &&
    Array.isArray(o.files) &&
    o.files.every(
      (f) =>
        typeof f.name === 'string' &&
        Number.isInteger(f.channel) &&
        Number.isSafeInteger(f.offset) &&
        Number.isSafeInteger(f.length) &&
        typeof f.sha256 === 'string' &&
        (f.algorithm === undefined || typeof f.algorithm === 'string') &&
        validDataRuns(f.data, f.length),
    )
  );
}

/**
 * Reads the manifest from a whole data area (the `data_len` bytes after the header). Returns
 * null when there is none (e.g. an image written by libvirt); a damaged one is an error.
 */
export function decodeManifest(data: Buffer, domain: ErrorDomain = ErrorDomain.QEMU): SaveManifest | null {
  const extent = manifestExtent(data);
  if (extent === 0) return null;
  const footer = data.subarray(data.length - MANIFEST_FOOTER_SIZE);
  const version = footer.readUInt32LE(8);
  if (version > MANIFEST_VERSION) {
    throw failed(`save image extension version is not supported (${version} > ${MANIFEST_VERSION})`, domain);
  }
  if (extent > data.length) throw failed('save image extension is corrupt', domain);
  const payload = data.subarray(data.length - extent, data.length - MANIFEST_FOOTER_SIZE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw failed('save image extension is corrupt', domain);
  }
  if (!isValid(parsed)) throw failed('save image extension is corrupt', domain);
  const unknown = parsed.files.find((f) => f.algorithm !== undefined && !PIECE_HASH_ALGORITHMS.includes(f.algorithm));
  if (unknown) throw failed(`save image checksum algorithm '${unknown.algorithm}' is not supported`, domain);
  return parsed;
}
