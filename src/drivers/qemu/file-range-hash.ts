/**
 * Digests of byte ranges of a file (piece-hash.ts), hashed by worker threads that read the file
 * themselves with positional reads: off Node's event loop, one range per core at a time. The earlier design
 * (`dd | sha256sum` children) spent more time moving bytes through pipes than hashing them:
 * about 1.6 s per GiB here against 0.7 s for a read-and-hash loop (and 3 s for a GiB of holes).
 * Holes of a sparse file read as zeros, so a range hashes the same before and after it was
 * copied sparsely.
 */
import { closeSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkPieceHashAlgorithm, innerHashOf, nonZeroBlockHash } from '../../conf/save-image/piece-hash';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/** A byte range of a file. */
export interface FileRange {
  offset: number;
  length: number;
  /** Digest algorithm (piece-hash.ts); absent: SHA-256 of every byte. */
  algorithm?: string;
}

/** Running hashes of ranges of one file: their digests, in range order, and a way to stop them. */
export interface FileHashes {
  readonly ranges: readonly FileRange[];
  /** Rejects with OPERATION_FAILED (or the system error) naming the file when a read fails. */
  readonly digests: Promise<string[]>;
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

/** Read size of a worker: large enough that a read costs little beside hashing its bytes. */
const CHUNK = 4 * 1024 * 1024;

/**
 * The worker's code, kept as source text so it runs the same from the compiled package and from
 * the TypeScript sources the tests load (a worker file would exist only under dist/). The
 * zero-skipping encoding and the choice of its inner hash are spliced in from their own source,
 * so both threads run one definition; the hashes come from the modules the main thread loads.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const stopped = new Int32Array(workerData.stop);
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { createXXHash128 } = require(${JSON.stringify(require.resolve('hash-wasm'))});
const nonZeroBlockHash = ${nonZeroBlockHash.toString()};
const innerHashOf = ${innerHashOf.toString()};
// A digest that cannot be set up is this code failing, not the image: reported by that name.
const setUp = (algorithm) => innerHashOf(algorithm, { createHash, createXXHash128 }).catch((e) => { const err = new Error(String(e && e.message || e)); err.name = 'ChecksumSetupError'; throw err; });
const plainHash = () => { const h = createHash('sha256'); return { update: (b) => h.update(b), digest: () => h.digest('hex') }; };
// The thread ends by closing its port (its loop then runs dry), never by terminate().
parentPort.on('message', async ({ stop, fd, offset, length, chunk, algorithm }) => {
  if (stop) return parentPort.close();
  try {
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunk, length)));
    const hash = algorithm === undefined ? plainHash() : nonZeroBlockHash(await setUp(algorithm));
    for (let done = 0; done < length; ) {
      if (Atomics.load(stopped, 0)) return;
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
      if (n === 0) throw new Error('unexpected end of file at byte ' + (offset + done));
      hash.update(n === buf.length ? buf : buf.subarray(0, n));
      done += n;
    }
    parentPort.postMessage({ digest: hash.digest() });
  } catch (e) {
    if (Atomics.load(stopped, 0)) return;
    parentPort.postMessage({ error: { name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall } });
  }
});
`;

interface WorkerReply {
  digest?: string;
  error?: { name?: string; message: string; code?: string; errno?: number; syscall?: string };
}

function readError(file: string, e: NonNullable<WorkerReply['error']>): VirError {
  const what = `cannot read save image '${file}'`;
  if (e.code) return VirError.system(ErrorDomain.QEMU, what, Object.assign(new Error(e.message), e));
  // A TypeError or ReferenceError is the worker's code failing (e.g. instrumented by a coverage
  // tool that breaks the spliced digest source), not the image.
  if (e.name && e.name !== 'Error') return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `checksum worker for save image '${file}' failed: ${e.name}: ${e.message}`);
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `${what}: ${e.message}`);
}

/**
 * Starts hashing every range of `file`, at most one range per core at once (a range per
 * channel can be 255 ranges: they queue). `kill` stops the workers at their next chunk.
 *
 * Workers are told to stop (a shared flag they check between reads, then a message that closes
 * their port) and end on their own. `Worker.terminate()` is not used: terminating a thread that
 * holds WebAssembly code (the XXH3 hasher) is a reported way to crash Node (nodejs/node#47748),
 * and the test suite's process died once in CI of a segmentation fault whose cause was not found.
 *
 * The file is opened here and its descriptor lent to the workers, so this thread can promise the
 * descriptor is closed the moment hashing ends (a failed restore must leave nothing open on the
 * image). The workers use positional reads, so a read still in flight at close touches no file
 * position (at worst it reads, and throws away, bytes of whatever file takes the number next).
 */
export function hashFileRanges(file: string, ranges: readonly FileRange[]): FileHashes {
  // An algorithm the workers do not know would be hashed as XXH3: refuse it here.
  for (const r of ranges) checkPieceHashAlgorithm(r.algorithm);
  const digests: string[] = new Array<string>(ranges.length);
  const workers: Worker[] = [];
  let next = 0;
  let settled = false;
  let fd: number | null = null;
  let fail!: (err: VirError) => void;
  const stop = new Int32Array(new SharedArrayBuffer(4));
  // A stopped worker must not keep the process alive while it finishes a read.
  const released = new Set<Worker>();
  const release = (w: Worker): void => {
    if (released.has(w)) return;
    released.add(w);
    w.postMessage({ stop: true });
    w.unref();
  };
  const stopAll = (): void => {
    Atomics.store(stop, 0, 1);
    for (const w of workers) release(w);
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  const all = new Promise<string[]>((resolve, reject) => {
    let left = ranges.length;
    fail = (err) => {
      if (settled) return;
      settled = true;
      stopAll();
      reject(err);
    };
    if (left === 0) return resolve(digests);
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      return fail(VirError.system(ErrorDomain.QEMU, `cannot read save image '${file}'`, e));
    }
    const busy = new Set<Worker>();
    const feed = (w: Worker): void => {
      if (next >= ranges.length) return release(w);
      const i = next++;
      busy.add(w);
      w.once('message', (m: WorkerReply) => {
        busy.delete(w);
        // A digest that was already on its way when the hashing stopped: nothing more to feed.
        if (settled) return;
        if (m.error) return fail(readError(file, m.error));
        digests[i] = m.digest!;
        if (--left === 0 && !settled) {
          settled = true;
          stopAll();
          return resolve(digests);
        }
        feed(w);
      });
      w.postMessage({ fd, offset: ranges[i].offset, length: ranges[i].length, chunk: CHUNK, algorithm: ranges[i].algorithm });
    };
    const n = Math.min(ranges.length, Math.max(1, availableParallelism()));
    for (let k = 0; k < n && !settled; k++) {
      let w: Worker;
      try {
        w = new Worker(WORKER_SOURCE, { eval: true, workerData: { stop: stop.buffer } });
      } catch (e) {
        return fail(VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `cannot start a checksum worker for save image '${file}': ${(e as Error).message}`));
      }
      w.once('error', (e) => fail(VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `checksum worker for save image '${file}' failed: ${e.message}`)));
      w.once('exit', (code) => {
        if (busy.has(w)) fail(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `cannot read save image '${file}': checksum worker ended with status ${code}`));
      });
      workers.push(w);
      feed(w);
    }
  });
  all.catch(() => undefined);
  return {
    ranges,
    digests: all,
    kill: () => fail(VirError.report(ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, `checksum of save image '${file}' was stopped`)),
  };
}
