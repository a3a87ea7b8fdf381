/** Runs stock tools (virsh, python3) asynchronously, so an in-process daemon keeps serving. */
import { execFile } from 'node:child_process';

/** What a finished command produced. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` with a timeout; never rejects on a non-zero exit. */
export function runTool(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30000, env: { ...process.env, LC_ALL: 'C', ...opts.env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          reject(err);
          return;
        }
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
