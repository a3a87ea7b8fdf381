/** Runs tsvirtd as a real child process from the TypeScript sources (no build needed). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** Node arguments that start tsvirtd from source. */
export const TSVIRTD_NODE_ARGS = ['-r', path.join(__dirname, 'ts-register.js'), path.join(ROOT, 'src/daemon/main.ts')];

/** Writes an executable `tsvirtd` launcher script into `dir` and returns its path. */
export function writeLauncher(dir: string): string {
  const file = path.join(dir, 'tsvirtd');
  fs.writeFileSync(file, `#!/bin/sh\nexec ${process.execPath} ${TSVIRTD_NODE_ARGS.join(' ')} "$@"\n`, { mode: 0o755 });
  return file;
}

/** A tsvirtd child and its collected stderr. */
export interface DaemonProcess {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Spawns tsvirtd; with `waitListening`, resolves once it reports its listeners. */
export async function spawnTsvirtd(args: string[], waitListening = true): Promise<DaemonProcess> {
  // process.env explicitly: under jest it is the test file's copy, with its XDG dirs.
  const child = spawn(process.execPath, [...TSVIRTD_NODE_ARGS, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  if (waitListening) {
    const end = Date.now() + 20000;
    while (!err.includes('tsvirtd: listening')) {
      if (child.exitCode !== null || Date.now() > end) {
        child.kill('SIGKILL');
        throw new Error(`tsvirtd did not start: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { child, stderr: () => err, exited };
}
