/**
 * The libvirt 11.3 side of the libvirt11-save bench: a private libvirtd 11.3 on QEMU 10
 * (test/helpers/libvirtd-qemu.ts), a guest defined from the same XML as tsvirt's and filled the
 * same way, and `virsh save` / `virsh restore` timed as a user runs them. libvirt's memory is
 * sampled while each runs (libvirtd plus any libvirt_iohelper child): libvirtd is a long-lived
 * daemon, so its VmHWM would be its lifetime peak, not the operation's.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { libvirtQemuPid } from '../test/helpers/interop-guest';
import { libvirt11Root, qemu10Root } from '../test/helpers/libvirt11';
import { startQemuLibvirtd, type QemuLibvirtd } from '../test/helpers/libvirtd-qemu';
import { fillGuestRam, guestXML } from './qemu-bench-guest';

/** One timed virsh operation. */
export interface VirshOp {
  ms: number;
  /** Highest sampled RSS of libvirtd + its iohelper processes during the call (KiB). */
  peakKiB: number;
}

/** Starts libvirtd 11.3 with QEMU 10 at the system paths of its private namespace. */
export function startLibvirt11(): Promise<QemuLibvirtd> {
  return startQemuLibvirtd({ libvirtRoot: libvirt11Root(), qemuRoot: qemu10Root() });
}

function virsh(lv: QemuLibvirtd, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(lv.virsh.path, ['-c', lv.uri, ...args], { env: lv.virsh.env, maxBuffer: 1 << 20, timeout: 600_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Pids of libvirt's I/O helpers (comm is cut to 15 characters: "libvirt_iohelpe"). */
function iohelperPids(): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/comm`, 'latin1').startsWith('libvirt_iohelp')) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

function libvirtdPid(lv: QemuLibvirtd): number {
  return Number(fs.readFileSync(path.join(lv.dir, 'libvirtd.pid'), 'utf8').trim());
}

/** Runs `virsh ARGS`, timing it and sampling libvirt's RSS every 100 ms. */
async function timedVirsh(lv: QemuLibvirtd, args: string[]): Promise<VirshOp> {
  const daemon = libvirtdPid(lv);
  let peak = rssKiB(daemon);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(daemon) + iohelperPids().reduce((n, p) => n + rssKiB(p), 0));
  }, 100);
  const t0 = performance.now();
  try {
    await virsh(lv, args);
    return { ms: performance.now() - t0, peakKiB: peak };
  } finally {
    clearInterval(timer);
  }
}

/** Defines, starts, pauses and fills a libvirt guest from the same XML as tsvirt's. */
export async function createLibvirtGuest(lv: QemuLibvirtd, name: string, bytes: number, emulator: string, dir: string, randomBytes?: number): Promise<number> {
  const xml = path.join(dir, `${name}.xml`);
  fs.writeFileSync(xml, guestXML(name, bytes, true, emulator));
  await virsh(lv, ['define', xml]);
  await virsh(lv, ['start', name]);
  await virsh(lv, ['suspend', name]);
  return fillGuestRam(libvirtQemuPid(name), bytes, randomBytes);
}

/** `virsh save NAME FILE ARGS...` (the guest stops). */
export function libvirtSave(lv: QemuLibvirtd, name: string, file: string, args: string[]): Promise<VirshOp> {
  return timedVirsh(lv, ['save', name, file, ...args]);
}

/** `virsh restore FILE ARGS...` (the guest comes back paused, as it was saved). */
export function libvirtRestore(lv: QemuLibvirtd, file: string, args: string[]): Promise<VirshOp> {
  return timedVirsh(lv, ['restore', file, ...args]);
}

/** `virsh destroy NAME` (the guest stops; its definition stays). */
export async function libvirtDestroy(lv: QemuLibvirtd, name: string): Promise<void> {
  await virsh(lv, ['destroy', name]);
}

/** Destroys and undefines a libvirt guest, whatever state it is in. */
export async function removeLibvirtGuest(lv: QemuLibvirtd, name: string): Promise<void> {
  await virsh(lv, ['destroy', name]).catch(() => undefined);
  await virsh(lv, ['undefine', name]).catch(() => undefined);
}
