/**
 * A private XDG environment per QEMU test file: config, runtime and data dirs in one temp dir, so
 * nothing touches the real home; plus cleanup that kills every QEMU the test started.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The temp dirs of one test file. */
export interface QemuTestEnv {
  root: string;
  workDir: string;
  runDir: string;
}

/** Creates the dirs and points XDG_* at them (call before the first Connect.open). */
export function setupQemuEnv(label: string): QemuTestEnv {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `tsvirt-${label}-`));
  for (const d of ['config', 'run', 'data', 'work']) fs.mkdirSync(path.join(root, d), { mode: 0o700 });
  process.env.XDG_CONFIG_HOME = path.join(root, 'config');
  process.env.XDG_RUNTIME_DIR = path.join(root, 'run');
  process.env.XDG_DATA_HOME = path.join(root, 'data');
  return { root, workDir: path.join(root, 'work'), runDir: path.join(root, 'run', 'tsvirt', 'qemu') };
}

/** Pids of QEMU processes whose command line mentions `root` (their monitor socket lives there). */
export function qemuPidsUnder(root: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1');
      // Any QEMU binary (the system's or one unpacked elsewhere, e.g. QEMU 10 from setup-qemu10.sh).
      if (/^[^\0]*\/qemu-system-[^\0/]*\0/.test(cmd) && cmd.includes(root)) {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
        if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(p));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** SIGKILLs every QEMU started under `root` and removes the dir. */
export function teardownQemuEnv(env: QemuTestEnv): void {
  for (const pid of qemuPidsUnder(env.root)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(env.root, { recursive: true, force: true });
}

/** A small TCG guest: `extra` goes into <devices>, `topLevel` (e.g. <memoryBacking>) beside them. */
export function smallGuestXML(name: string, mib = 64, extra = '', topLevel = ''): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>${mib}</memory>${topLevel}<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${extra}</devices></domain>`;
}
