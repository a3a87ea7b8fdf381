/**
 * Host-side yardsticks and bookkeeping for the save benchmarks: dd / cp of the same number of
 * bytes to the same directory (measured in the same run, because this machine's disk speed
 * varies several-fold between runs), dropping the page cache, image sizes, medians and
 * formatting.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MIB = 1024 * 1024;

function sh(script: string): void {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`'${script}' failed: ${r.stderr || r.status}`);
}

/** Seconds taken by a shell command. */
function timed(script: string): number {
  const t0 = performance.now();
  sh(script);
  return (performance.now() - t0) / 1000;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Writes back dirty pages so the next measurement does not pay for the previous one's. */
export function syncDisks(): void {
  sh('sync');
}

/** Empties the page cache (root only), so the next read comes from the disk. */
export function dropCaches(): void {
  sh('sync && echo 3 > /proc/sys/vm/drop_caches');
}

/**
 * A file of `bytes` random bytes for dd to copy from: the same kind of bytes the saves write
 * (a virtual disk may treat zeros specially). It is read once before each use so dd reads it
 * from the page cache and only its writes are measured.
 */
export function makeRandomSource(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    const buf = Buffer.allocUnsafe(64 * MIB);
    for (let off = 0; off < bytes; off += buf.length) {
      const n = Math.min(buf.length, bytes - off);
      crypto.randomFillSync(buf, 0, n);
      fs.writeSync(fd, buf, 0, n, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  syncDisks();
}

/** `dd` of the random source (bs=1M) into `file` with fdatasync (and O_DIRECT when `direct`). */
export function ddWrite(src: string, file: string, direct: boolean): number {
  fs.rmSync(file, { force: true });
  sh(`cat ${q(src)} > /dev/null`);
  syncDisks();
  return timed(`dd if=${q(src)} of=${q(file)} bs=1M conv=fdatasync${direct ? ' oflag=direct' : ''} status=none`);
}

/**
 * `n` concurrent `dd oflag=direct` writers of the random source into one file, each its own
 * 1/n slice at its own offset (the shape of N channels writing one image), each ending with
 * fdatasync; the time is until the last one is done.
 */
export function ddWriteParallelDirect(src: string, file: string, n: number): number {
  fs.rmSync(file, { force: true });
  sh(`cat ${q(src)} > /dev/null`);
  syncDisks();
  const mib = Math.ceil(fs.statSync(src).size / MIB / n);
  const writers = Array.from({ length: n }, (_, i) =>
    `dd if=${q(src)} of=${q(file)} bs=1M skip=${i * mib} seek=${i * mib} count=${mib} conv=notrunc,fdatasync oflag=direct status=none & p${i}=$!`);
  // Wait for each by pid: a bare `wait` would hide a failed writer.
  return timed(`${writers.join('; ')}; ${writers.map((_, i) => `wait $p${i} || exit 1`).join('; ')}`);
}

/**
 * `n` concurrent `dd iflag=direct` readers of `file`, each its own 1/n slice (the shape of a
 * restore reading N regions or channels of one image); the time is until the last one is done.
 */
export function ddReadParallelDirect(file: string, n: number): number {
  const mib = Math.ceil(fs.statSync(file).size / MIB / n);
  const readers = Array.from({ length: n }, (_, i) => `dd if=${q(file)} of=/dev/null bs=1M skip=${i * mib} count=${mib} iflag=direct status=none & p${i}=$!`);
  return timed(`${readers.join('; ')}; ${readers.map((_, i) => `wait $p${i} || exit 1`).join('; ')}`);
}

/** `dd` read of the whole file to /dev/null; `cold` drops the page cache first. */
export function ddRead(file: string, cold: boolean): number {
  if (cold) dropCaches();
  return timed(`dd if=${q(file)} of=/dev/null bs=1M status=none`);
}

/** `cp` of a (page-cached) file plus an fsync of the copy, as a file-copy yardstick. */
export function cpFile(src: string, dst: string): number {
  fs.rmSync(dst, { force: true });
  sh(`cat ${q(src)} > /dev/null`);
  syncDisks();
  const s = timed(`cp ${q(src)} ${q(dst)} && sync ${q(dst)}`);
  fs.rmSync(dst, { force: true });
  return s;
}

/** Every file of an image: FILE and its channel files FILE.1, FILE.2, ... */
export function imageFiles(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return fs
    .readdirSync(dir)
    .filter((f) => f === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+$`).test(f))
    .map((f) => path.join(dir, f));
}

/** Bytes the image really occupies (holes of a sparse region image are not counted). */
export function imageBytes(file: string): number {
  return imageFiles(file).reduce((n, f) => {
    const st = fs.statSync(f);
    return n + Math.min(st.size, st.blocks * 512);
  }, 0);
}

/** Removes an image and its channel files. */
export function removeImage(file: string): void {
  for (const f of imageFiles(file)) fs.rmSync(f, { force: true });
}

/** Median (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** MB/s (10^6 bytes per second). */
export function mbps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}

/** A number with `d` decimals, or '-' when absent. */
export function fix(v: number | undefined, d: number): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d);
}

/** Sizes to run, from BENCH_SIZES_GIB (comma-separated GiB), else `dflt`. */
export function sizesGiB(dflt: number[]): number[] {
  const env = process.env.BENCH_SIZES_GIB;
  if (!env) return dflt;
  return env.split(',').map((s) => Number(s.trim())).filter((n) => Number.isFinite(n) && n > 0);
}

/** Timed rounds per measurement, from BENCH_ROUNDS, else `dflt`. */
export function rounds(dflt: number): number {
  const n = Number(process.env.BENCH_ROUNDS);
  return Number.isInteger(n) && n > 0 ? n : dflt;
}
