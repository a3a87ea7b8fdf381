/**
 * Checking a save image without restoring it (`tsvirsh save-image-verify`): libvirt's header
 * checks, then every piece the manifest lists — the main stream, channel files FILE.k, RAM
 * regions — must exist with its recorded length and checksum (piece-hash.ts). Reads only.
 */
import { openRegularImage } from '../../util/image-path';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { saveImageFormatName } from './header';
import { readSaveImageHeader } from './image-file';
import type { ManifestFile, SaveManifest } from './manifest';
import { createPieceHash } from './piece-hash';

/** One verified piece. */
export interface VerifiedPiece {
  path: string;
  channel: number;
  offset: number;
  length: number;
  /** The digest it was checked with (piece-hash.ts); absent: SHA-256 of every byte, or none recorded. */
  algorithm?: string;
}

/** What save-image-verify reports. */
export interface SaveImageReport {
  path: string;
  format: string;
  wasRunning: boolean;
  /** Null for a plain libvirt image, which records no checksums. */
  manifest: SaveManifest | null;
  pieces: VerifiedPiece[];
}

const CHUNK = 4 * 1024 * 1024;

async function hashPiece(path: string, f: ManifestFile, domain: ErrorDomain): Promise<void> {
  let fh;
  try {
    fh = await openRegularImage(path, 'r', domain);
  } catch (err) {
    const e = VirError.from(err, domain);
    if (e.code !== ErrorCode.SYSTEM_ERROR) throw e;
    throw VirError.system(domain, `cannot read save image file '${path}'`, e.cause ?? err);
  }
  try {
    const { size } = await fh.stat();
    if (size < f.offset + f.length) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `save image file '${path}' is truncated (${size} bytes, expected ${f.offset + f.length})`);
    }
    const hash = await createPieceHash(f.algorithm, domain);
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < f.length; ) {
      const want = Math.min(CHUNK, f.length - pos);
      const { bytesRead } = await fh.read(buf, 0, want, f.offset + pos);
      if (bytesRead === 0) throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `save image file '${path}' is truncated`);
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    if (hash.digest() !== f.sha256) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `checksum mismatch in save image file '${path}' at offset ${f.offset}`);
    }
  } finally {
    await fh.close();
  }
}

/** Verifies the image at `path` and every file its manifest names; OPERATION_FAILED names the bad one. */
export async function verifySaveImage(path: string, domain: ErrorDomain = ErrorDomain.NONE): Promise<SaveImageReport> {
  const info = await readSaveImageHeader(path, domain);
  const format = saveImageFormatName(info.header.format);
  const m = info.manifest;
  if (!m) {
    if (info.fileSize <= info.streamOffset) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `save image '${path}' holds no memory stream`);
    }
    return { path, format, wasRunning: info.header.wasRunning, manifest: null, pieces: [{ path, channel: 0, offset: info.streamOffset, length: info.fileSize - info.streamOffset }] };
  }
  const channelFiles = m.files.filter((f) => f.name !== '');
  if (m.mode === 'files' && (channelFiles.length !== m.channels || new Set(channelFiles.map((f) => f.channel)).size !== m.channels)) {
    throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `save image '${path}' manifest lists ${channelFiles.length} channel files for ${m.channels} channels`);
  }
  const pieces: VerifiedPiece[] = [];
  for (const f of [...m.files].sort((a, b) => a.channel - b.channel)) {
    const p = `${path}${f.name}`;
    await hashPiece(p, f, domain);
    pieces.push({ path: p, channel: f.channel, offset: f.offset, length: f.length, ...(f.algorithm ? { algorithm: f.algorithm } : {}) });
  }
  return { path, format, wasRunning: info.header.wasRunning, manifest: m, pieces };
}
