/**
 * Shell commands that carry a migration stream between QEMU and the image file: the compressor
 * programs libvirt uses (`prog -c`, xz with `-3`; `prog -dc` to read) and the O_DIRECT copy that
 * stands in for libvirt's iohelper when the page cache must be bypassed.
 *
 * `dd iflag=fullblock oflag=direct bs=1M` does what the iohelper does: dd allocates page-aligned
 * 1 MiB buffers, fullblock keeps every write a whole aligned block even when the pipe delivers
 * less, and GNU dd clears O_DIRECT for the final short block so the tail needs no padding.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { SAVE_IMAGE_FORMAT_NAMES, SaveImageFormat } from '../../conf/save-image';

/** Single-quotes a word for /bin/sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell command that prints the SHA-256 of its stdin as 64 hex digits first. OpenSSL's uses
 * the CPU's SHA instructions (about 1.6 GB/s a core on the reference machine, against 330 MB/s
 * for coreutils' sha256sum), which decides whether hashing a single stream slows a save or a
 * restore; sha256sum where openssl is not installed.
 */
function sha256Command(): string {
  return findInPath('openssl') ? 'openssl dgst -sha256 -r' : 'sha256sum';
}

/** Absolute path of `prog` in $PATH, or undefined (libvirt's virFindFileInPath). */
export function findInPath(prog: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, prog);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The program name of a compressed format (its `image_format` name), or null for raw. */
export function compressorName(format: SaveImageFormat): string | null {
  if (format === SaveImageFormat.RAW) return null;
  if (format === SaveImageFormat.SPARSE) {
    throw VirError.report(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, "image format 'sparse' needs QEMU's mapped-ram (QEMU 9.0 or newer)");
  }
  if (format === SaveImageFormat.TSVIRT_PARALLEL) {
    throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `unsupported save image format: ${format}`);
  }
  return SAVE_IMAGE_FORMAT_NAMES[format];
}

/**
 * The compressor for `format` as an absolute path, checked before the guest is touched. A
 * missing program is libvirt's OPERATION_FAILED.
 */
export function requireCompressor(format: SaveImageFormat): string | null {
  const name = compressorName(format);
  if (name === null) return null;
  const path = findInPath(name);
  if (!path) {
    throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `Compression program for ${name} image format in configuration file isn't available`);
  }
  return path;
}

/** `prog -c` (xz at level 3, as libvirt). */
export function compressArgs(format: SaveImageFormat, prog: string): string {
  return format === SaveImageFormat.XZ ? `${shQuote(prog)} -c -3` : `${shQuote(prog)} -c`;
}

/** `prog -dc`. */
export function decompressArgs(prog: string): string {
  return `${shQuote(prog)} -dc`;
}

/** How a stream is written after the header. */
export interface WriterSpec {
  file: string;
  /** Where the stream starts (92 + data_len): the bytes before it were written by tsvirt. */
  streamOffset: number;
  format: SaveImageFormat;
  bypassCache: boolean;
}

/**
 * The bash pipeline that reads QEMU's stream on stdin and puts it in the file after the header,
 * sending the same bytes (as stored, i.e. compressed when a compressor runs) through the hasher
 * into `hash.file` for the image's manifest. The hasher is a member of the outer pipeline (tee
 * writes to it through fd 3), not a process substitution: the script waits for it, so its
 * files exist before the status file does and a cleanup that waited for the status removes
 * them for good. The hash appears under its final name only once complete. It must run under
 * `set -o pipefail`, so that a compressor, writer or hasher that fails anywhere in the pipe
 * fails the whole save even after QEMU reported "completed".
 * With the page cache: append. Bypassing it: the header bytes already on disk are sent again
 * through the same O_DIRECT dd so that every write of the whole file stays block aligned, as
 * libvirt's iohelper writes header and stream through one fd.
 */
export function writerPipeline(spec: WriterSpec, hashTo: { file: string; tmp: string }): string {
  const prog = requireCompressor(spec.format);
  const file = shQuote(spec.file);
  const hash = shQuote(hashTo.file);
  const hashTmp = shQuote(hashTo.tmp);
  const stored = prog ? `${compressArgs(spec.format, prog)} | tee /dev/fd/3` : 'tee /dev/fd/3';
  const write = spec.bypassCache
    ? `{ head -c ${spec.streamOffset} ${file} && ${stored}; } | dd of=${file} bs=1M iflag=fullblock oflag=direct conv=notrunc status=none`
    : `${stored} >> ${file}`;
  return `{ ${write}; } 3>&1 >/dev/null | ${sha256Command()} > ${hashTmp} && mv ${hashTmp} ${hash}`;
}

/**
 * The shell pipeline that prints the stream of an image on stdout (for formats or cache modes
 * where QEMU cannot simply read the file descriptor).
 */
export function readerPipeline(spec: WriterSpec): string {
  const prog = requireCompressor(spec.format);
  const file = shQuote(spec.file);
  const tail = prog ? `exec ${decompressArgs(prog)}` : 'exec cat';
  if (!spec.bypassCache) {
    return `{ dd bs=${spec.streamOffset} count=1 iflag=fullblock of=/dev/null status=none && ${tail}; } < ${file}`;
  }
  return `dd if=${file} bs=1M iflag=direct status=none | { dd bs=${spec.streamOffset} count=1 iflag=fullblock of=/dev/null status=none && ${tail}; }`;
}
