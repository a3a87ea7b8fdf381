/**
 * zstd for every Node.js tsvirt supports: node:zlib has zstd only from Node 22.15 / 23.8, and
 * `engines` allows Node 20, so where zlib has none the `zstd` program (Debian's `zstd` package)
 * does the work. Both produce and read standard zstd frames, so an image written one way is
 * read the other.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

type ZlibZstd = {
  zstdCompress?: (b: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
  zstdDecompress?: (b: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
};

/**
 * node:zlib, loaded on first use: initializing it costs several milliseconds of start-up that
 * commands which never compress (most of tsvirsh's) should not pay.
 */
export function zlibModule(): typeof import('node:zlib') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:zlib') as typeof import('node:zlib');
}

function native(): ZlibZstd {
  return zlibModule() as unknown as ZlibZstd;
}

/** True when this Node.js has zstd in node:zlib. */
export function nativeZstd(): boolean {
  return typeof native().zstdCompress === 'function' && typeof native().zstdDecompress === 'function';
}

let programPath: string | null | undefined;

/** The `zstd` program's path from PATH, or null (looked up once). */
export function zstdProgram(env: NodeJS.ProcessEnv = process.env): string | null {
  if (programPath !== undefined) return programPath;
  programPath = null;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'zstd');
    try {
      accessSync(p, constants.X_OK);
      programPath = p;
      break;
    } catch {
      /* not in this directory */
    }
  }
  return programPath;
}

/** True when zstd can be used at all (node:zlib or the program). */
export function zstdAvailable(): boolean {
  return nativeZstd() || zstdProgram() !== null;
}

/** Runs the zstd program with `args`, feeding `input` on stdin; resolves to its stdout. */
function runProgram(args: string[], input: Buffer): Promise<Buffer> {
  const prog = zstdProgram();
  if (prog === null) return Promise.reject(new Error('zstd is not available: no zstd in node:zlib and no zstd program in PATH'));
  return new Promise((resolve, reject) => {
    // Required here: node:child_process (with net and dgram) is 1-2 ms of every tsvirsh start-up.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn(prog, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A zstd that exits early (bad input) closes stdin under us: its exit status says why.
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`zstd ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${Buffer.concat(err).toString().trim()}`));
    });
    child.stdin.end(input);
  });
}

/** Compresses `data` into one zstd frame. */
export async function zstdCompress(data: Buffer): Promise<Buffer> {
  if (nativeZstd()) return promisify(native().zstdCompress!)(data);
  return runProgram(['-q', '-c', '-3'], data);
}

/** Decompresses zstd frames; rejects on data that is not zstd or is damaged. */
export async function zstdDecompress(data: Buffer): Promise<Buffer> {
  if (nativeZstd()) return promisify(native().zstdDecompress!)(data);
  return runProgram(['-q', '-d', '-c'], data);
}
