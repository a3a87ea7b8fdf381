/**
 * Guests for the save benchmarks: a private qemu:///session under /var/tmp (on the same disk as
 * the images and dd's files), a paused TCG guest whose RAM is filled with random bytes through
 * /proc/PID/mem, and each save / restore run in a child process (qemu-bench-op.ts) so its own
 * peak RSS can be reported.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { Connect } from '../src';
import { qemuPidOf } from '../src/drivers/qemu';
import { setupQemuEnv, teardownQemuEnv, type QemuTestEnv } from '../test/helpers/qemu-env';
import { writeGuestRam } from '../test/helpers/qemu-guest';
import type { OpRequest, OpResult } from './qemu-bench-op';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** A private session whose dirs live under /var/tmp (not a tmpfs /tmp). */
export function benchEnv(label: string): QemuTestEnv {
  process.env.TMPDIR = '/var/tmp';
  return setupQemuEnv(`bench-${label}`);
}

/** Kills every QEMU of the session and removes its dirs (images included). */
export function teardownBench(env: QemuTestEnv): void {
  teardownQemuEnv(env);
}

/**
 * Guest XML: a TCG pc guest with no devices; `memfd` gives it shared memfd RAM (region mode);
 * `emulator` names the QEMU binary (so libvirt and tsvirt run the same one).
 */
export function guestXML(name: string, bytes: number, memfd: boolean, emulator?: string): string {
  const backing = memfd ? "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>" : '';
  const devices = emulator ? `<devices><emulator>${emulator}</emulator></devices>` : '<devices/>';
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>${bytes / MIB}</memory>${backing}<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>${devices}</domain>`;
}

/**
 * Host offsets of the RAM block to fill, leaving firmware alone: the first 16 MiB and the top
 * 16 MiB of low memory (SeaBIOS keeps its tables there). A pc guest of 3.5 GiB or more has 3 GiB
 * below 4G; the rest (above 4G in the guest) follows at host offset 3 GiB of the same block.
 */
export function fillRanges(bytes: number): Array<[number, number]> {
  const low = bytes >= 0xe0000000 ? 0xc0000000 : bytes;
  const out: Array<[number, number]> = [[16 * MIB, low - 16 * MIB]];
  if (bytes > low) out.push([low, bytes]);
  return out;
}

/** Writes fresh random bytes over [from, to) of the guest RAM block, 64 MiB at a time. */
function fillRandom(pid: number, ramBytes: number, from: number, to: number): void {
  const buf = Buffer.allocUnsafe(64 * MIB);
  for (let off = from; off < to; off += buf.length) {
    const n = Math.min(buf.length, to - off);
    crypto.randomFillSync(buf, 0, n);
    writeGuestRam(pid, ramBytes, off, buf.subarray(0, n));
  }
}

/**
 * Fills the RAM of the paused guest QEMU `pid` (of `bytes` RAM): all of it (but the firmware
 * areas) with random bytes, or only `randomBytes` of it for a mostly-zero guest. Returns the
 * bytes written. Any QEMU will do (tsvirt's or libvirt's), since it goes through /proc/PID/mem.
 */
export function fillGuestRam(pid: number, bytes: number, randomBytes?: number): number {
  let filled = 0;
  for (const [from, to] of fillRanges(bytes)) {
    const end = randomBytes === undefined ? to : Math.min(to, from + randomBytes - filled);
    if (end <= from) break;
    fillRandom(pid, bytes, from, end);
    filled += end - from;
  }
  return filled;
}

/**
 * Defines and starts a guest, pauses it and fills its RAM (fillGuestRam). The guest stays paused
 * (nothing runs in it; saves and restores carry the same bytes either way) and this process's
 * connection is closed so the child processes can take the monitor.
 */
export async function createFilledGuest(name: string, bytes: number, opts: { memfd: boolean; randomBytes?: number; emulator?: string }): Promise<number> {
  const conn = await Connect.open('qemu:///session');
  try {
    const dom = await conn.defineXML(guestXML(name, bytes, opts.memfd, opts.emulator));
    await dom.create();
    await dom.suspend();
    return fillGuestRam(qemuPidOf(dom.uuid)!, bytes, opts.randomBytes);
  } finally {
    await conn.close();
  }
}

/** Destroys and undefines a guest (whatever state it is in). */
export async function removeGuest(name: string): Promise<void> {
  const conn = await Connect.open('qemu:///session');
  try {
    const dom = await conn.lookupDomainByName(name);
    await dom.destroy().catch(() => undefined);
    await dom.undefine().catch(() => undefined);
  } finally {
    await conn.close();
  }
}

/** Runs one operation in a child process; throws if it failed. */
export function runOp(req: OpRequest): Promise<OpResult> {
  const script = path.join(__dirname, 'qemu-bench-op.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(req)], { env: process.env, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      let res: OpResult;
      try {
        res = JSON.parse(line) as OpResult;
      } catch {
        return reject(new Error(`${req.op} child failed: ${err?.message ?? ''} ${stderr}`));
      }
      if (res.error) return reject(new Error(`${req.op} ${req.file ?? req.name}: ${res.error}`));
      resolve(res);
    });
  });
}

export { GIB, MIB };
