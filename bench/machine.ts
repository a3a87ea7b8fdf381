/**
 * The machine a benchmark ran on, written next to its results so numbers are never read
 * without their context (cores, memory, disk, QEMU and kernel versions).
 */
import { defaultEmulator } from '../src/drivers/qemu/emulator';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'n/a';
  }
}

/** A Markdown block describing this machine. */
export function machineDescription(dir: string): string {
  const cpu = run('sh', ['-c', "lscpu | grep -E '^(Model name|CPU\\(s\\)|Thread|Core)' | sed 's/  */ /g'"]);
  const disk = run('df', ['-h', dir]).split('\n').slice(-1)[0];
  const fsType = run('stat', ['-f', '-c', '%T', dir]);
  const qemu = run(defaultEmulator('x86_64'), ['--version']).split('\n')[0];
  const lines = [
    `- date: ${new Date().toISOString()}`,
    `- host: ${os.hostname()}, kernel ${os.release()}, node ${process.version}`,
    `- cpu: ${cpu.replace(/\n/g, '; ')}`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- disk for images: ${disk} (${fsType})`,
    `- ${qemu}; /dev/kvm ${run('sh', ['-c', 'test -w /dev/kvm && echo usable || echo absent'])}`,
  ];
  return lines.join('\n');
}

/** Renders rows as a Markdown table (also readable on a terminal). */
export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(r.map(String)))].join('\n');
}
