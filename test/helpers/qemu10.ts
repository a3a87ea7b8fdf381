/**
 * The QEMU binaries a test runs on: Debian 12's system QEMU and bookworm-backports' QEMU 10,
 * unpacked beside it by scripts/setup-qemu10.sh (idempotent, cached; run here so a test file
 * never depends on an earlier step). TSVIRT_QEMU10 names another QEMU 10 binary.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** The system emulator. */
export const SYSTEM_QEMU = '/usr/bin/qemu-system-x86_64';

/** Path of the unpacked QEMU 10's qemu-system-x86_64 (unpacks it on first use). */
export function qemu10Binary(): string {
  if (process.env.TSVIRT_QEMU10) return process.env.TSVIRT_QEMU10;
  const script = path.join(__dirname, '..', '..', 'scripts', 'setup-qemu10.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  return out.trim().split('\n').pop()!;
}

/** `<emulator>` element naming `binary`, for a domain's `<devices>`. */
export function emulatorXML(binary: string): string {
  return `<emulator>${binary}</emulator>`;
}
