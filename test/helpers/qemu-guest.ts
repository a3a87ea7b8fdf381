/**
 * Guest helpers for QEMU tests: guest RAM written through /proc/PID/mem while paused, read back
 * with QMP `pmemsave`, and a counter guest (a boot sector that increments a dword forever).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { qemuMonitorCommand } from '../../src/drivers/qemu';

/** Host address of the guest RAM block of `pid` (the anonymous mapping of exactly `bytes`). */
export function guestRamBase(pid: number, bytes: number): bigint {
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) rw-[ps] /.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    if (BigInt(`0x${m[2]}`) - start === BigInt(bytes)) return start;
  }
  throw new Error(`no ${bytes}-byte RAM mapping in /proc/${pid}/maps`);
}

/** Writes `data` at guest-physical `gpa` (below 3 GiB) through /proc/PID/mem. */
export function writeGuestRam(pid: number, ramBytes: number, gpa: number, data: Buffer): void {
  const base = guestRamBase(pid, ramBytes);
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r+');
  try {
    let done = 0;
    while (done < data.length) {
      const n = Math.min(1 << 24, data.length - done);
      // /proc/PID/mem offsets are host addresses: user space ones stay below 2^53.
      done += fs.writeSync(fd, data, done, n, Number(base) + gpa + done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `n` bytes at guest-physical `gpa` through /proc/PID/mem (no QMP needed). */
export function readGuestRam(pid: number, ramBytes: number, gpa: number, n: number): Buffer {
  const base = guestRamBase(pid, ramBytes);
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, Number(base) + gpa);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** Fills guest-physical [from, to) with random bytes (guest paused); returns their SHA-256. */
export function fillRandom(pid: number, ramBytes: number, from: number, to: number): string {
  const data = crypto.randomBytes(to - from);
  writeGuestRam(pid, ramBytes, from, data);
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** sha256 of guest memory [gpa, gpa+size) as QEMU itself dumps it (`pmemsave`). */
export async function pmemsaveHash(uuid: string, gpa: number, size: number, scratchDir: string): Promise<string> {
  const file = path.join(scratchDir, `pmem-${process.pid}-${Date.now()}.bin`);
  await qemuMonitorCommand(uuid, 'pmemsave', { val: gpa, size, filename: file });
  const hash = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  fs.rmSync(file, { force: true });
  return hash;
}

/** Guest-physical address of the counter the counter guest increments. */
export const COUNTER_GPA = 0x500;

/**
 * A 512-byte boot sector: `cli; xor ax,ax; mov ds,ax; l: inc dword [0x500]; jmp l` and the
 * 55 AA signature. SeaBIOS loads it at 0x7c00 and jumps to it.
 */
export function counterBootSector(): Buffer {
  const code = Buffer.from([0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x66, 0xff, 0x06, COUNTER_GPA & 0xff, COUNTER_GPA >> 8, 0xeb, 0xf9]);
  const sector = Buffer.alloc(512);
  code.copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Writes the counter guest's disk image and returns the `<disk>` XML for it. */
export function counterDisk(dir: string): string {
  const file = path.join(dir, 'counter.img');
  fs.writeFileSync(file, counterBootSector());
  return `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${file}'/><target dev='hda' bus='ide'/></disk>`;
}
