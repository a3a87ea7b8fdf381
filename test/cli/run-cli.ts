/**
 * Runs the built tsvirsh (bin/tsvirsh.js -> dist/src/cli/main.js) as a child process, the way a
 * user does. `npm test` builds dist/ before jest runs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The launcher under test. */
export const BIN = path.join(ROOT, 'bin', 'tsvirsh.js');

/** What one tsvirsh run printed and returned. */
export interface CliResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Fails early, with the fix, when dist/ has not been built. */
export function requireBuild(): void {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/src/cli/main.js is missing: run `npm run build` (npm test does it) before these tests');
  }
}

/** Runs `tsvirsh ...args`, optionally feeding `input` on stdin. */
export function tsvirsh(args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    // A variable given as undefined is removed from the child's environment.
    for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    // A command that exits before reading stdin closes the pipe (EPIPE): not the command's error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Shorthand: one command string on `test:///default` (or `uri`). */
export function onTest(commands: string, uri = 'test:///default', extra: readonly string[] = []): Promise<CliResult> {
  return tsvirsh([...extra, '-c', uri, commands]);
}
