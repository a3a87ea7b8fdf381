/**
 * SHA-256 of byte ranges of a file, each in its own `dd | sha256sum` child so N ranges are
 * hashed in parallel off Node's event loop (the kernel reads, sha256sum hashes on another core).
 * Holes of a sparse file read as zeros, so a range hashes the same before and after it was
 * copied sparsely.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { killProcessGroup } from './process';
import { sha256Command, shQuote } from './stream-commands';

/** A byte range of a file. */
export interface FileRange {
  offset: number;
  length: number;
}

/** One running hash: its digest, and a way to stop it. */
export interface RangeHash {
  readonly digest: Promise<string>;
  kill(): void;
}

/** Splits [start, end) into `n` ranges of whole MiB (the last one takes the rest). */
export function splitRange(start: number, end: number, n: number): FileRange[] {
  const total = Math.max(0, end - start);
  const mib = 1024 * 1024;
  const per = Math.max(mib, Math.ceil(total / Math.max(1, n) / mib) * mib);
  const out: FileRange[] = [];
  for (let off = start; off < end; off += per) out.push({ offset: off, length: Math.min(per, end - off) });
  return out.length ? out : [{ offset: start, length: 0 }];
}

/** Starts hashing `range` of `file`; the digest rejects with OPERATION_FAILED naming the file. */
export function hashFileRange(file: string, range: FileRange): RangeHash {
  const cmd = `set -o pipefail; dd if=${shQuote(file)} bs=1M iflag=skip_bytes,count_bytes skip=${range.offset} count=${range.length} status=none | ${sha256Command()}`;
  // Its own process group: killing it must reach dd too, not only the shell.
  const child: ChildProcess = spawn('/bin/bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const digest = new Promise<string>((resolve, reject) => {
    child.once('error', (e) => reject(VirError.system(ErrorDomain.QEMU, `cannot read save image '${file}'`, e)));
    child.once('close', (code, sig) => {
      const hex = out.slice(0, 64);
      if (code === 0 && /^[0-9a-f]{64}$/.test(hex)) return resolve(hex);
      reject(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `cannot read save image '${file}': ${err.trim() || `checksum reader ended with ${sig ?? `status ${code}`}`}`));
    });
  });
  digest.catch(() => undefined);
  return {
    digest,
    kill: () => killProcessGroup(child),
  };
}
