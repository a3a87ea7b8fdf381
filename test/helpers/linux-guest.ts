/**
 * The Linux test guest (scripts/build-guest.sh: Debian's kernel, busybox and the workload in
 * scripts/guest/init) for QEMU tests and the demo: where its files are, its domain XML (kernel
 * boot, virtio disk, user-mode NIC, file serial console), and define/boot/wait helpers.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Connect, Domain } from '../../src';
import { GuestConsole, type GuestEvent } from './guest-console';

/** The checkout holding scripts/build-guest.sh: found upwards, as this file also runs from dist/. */
function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'scripts', 'build-guest.sh'))) return dir;
  }
  throw new Error(`scripts/build-guest.sh not found above ${__dirname}`);
}

/** The kernel and initramfs build-guest.sh made, and what it recorded about them. */
export interface LinuxGuestFiles {
  kernel: string;
  initrd: string;
  /** KERNEL_RELEASE, KERNEL_PACKAGE, BUSYBOX_PACKAGE, MODULES, STAMP from guest.env. */
  info: Record<string, string>;
}

/** The cache folder build-guest.sh writes to (same rule as the script). */
export function linuxGuestDir(): string {
  if (process.env.TSVIRT_GUEST_DIR) return process.env.TSVIRT_GUEST_DIR;
  if (process.getuid?.() === 0) return '/var/cache/tsvirt/guest';
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tsvirt', 'guest');
}

/**
 * Runs scripts/build-guest.sh (which does nothing when the cached guest is current) and returns
 * the files. The set-up already ran it; running it again here lets a single test file be run
 * on a machine where the guest inputs changed since.
 */
export function ensureLinuxGuest(): LinuxGuestFiles {
  execFileSync('bash', [path.join(repoRoot(), 'scripts', 'build-guest.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = linuxGuestDir();
  const info: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(dir, 'guest.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (m) info[m[1]] = m[2];
  }
  return { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initramfs.img'), info };
}

/** What one test guest is made of. */
export interface LinuxGuestOptions {
  name: string;
  files: LinuxGuestFiles;
  /** Folder for the guest's disk image and console log. */
  dir: string;
  /** Guest RAM in MiB (128 by default). */
  mib?: number;
  /** Guest RAM in a shared memfd: what the region layout and instant restore need. */
  sharedMemory?: boolean;
  /** Size of the raw virtio disk in MiB (4 by default). */
  diskMib?: number;
  /** Seconds between ticks (the workload's tsvirt.tick). */
  tickSeconds?: number;
  /** A second serial port on a pty (serial1), for virDomainOpenConsole; the workload mirrors its lines there. */
  ptySerial?: boolean;
  /** Machine type alias: 'pc' (i440fx, the default) or 'q35' (PCIe: the devices sit on pcie-root-ports). */
  machine?: 'pc' | 'q35';
  /** The guest's `<interface>` (its eth0); a user-mode virtio NIC by default. */
  nicXml?: string;
}

/** A defined test guest: its domain XML and where its disk and console are. */
export interface LinuxGuestSpec {
  xml: string;
  diskPath: string;
  consolePath: string;
}

/** Writes the guest's empty raw disk and returns its domain XML. */
export function linuxGuestSpec(o: LinuxGuestOptions): LinuxGuestSpec {
  const diskPath = path.join(o.dir, `${o.name}.disk.raw`);
  const consolePath = path.join(o.dir, `${o.name}.console.log`);
  fs.writeFileSync(diskPath, '');
  fs.truncateSync(diskPath, (o.diskMib ?? 4) * 1024 * 1024);
  const memoryBacking = o.sharedMemory
    ? `<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>`
    : '';
  const cmdline = `console=ttyS0 quiet panic=-1 tsvirt.tick=${o.tickSeconds ?? 0.5}`;
  const xml = `<domain type='qemu'>
  <name>${o.name}</name>
  <memory unit='MiB'>${o.mib ?? 128}</memory>
  ${memoryBacking}
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='${o.machine ?? 'pc'}'>hvm</type>
    <kernel>${o.files.kernel}</kernel>
    <initrd>${o.files.initrd}</initrd>
    <cmdline>${cmdline}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${diskPath}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ${o.nicXml ?? `<interface type='user'>
      <model type='virtio'/>
    </interface>`}
    <serial type='file'>
      <source path='${consolePath}'/>
      <target port='0'/>
    </serial>
${o.ptySerial ? `    <serial type='pty'>
      <target port='1'/>
    </serial>
` : ''}    <console type='file'>
      <source path='${consolePath}'/>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='virtio'/>
  </devices>
</domain>`;
  return { xml, diskPath, consolePath };
}

/** A running test guest. */
export interface LinuxGuest extends LinuxGuestSpec {
  dom: Domain;
  console: GuestConsole;
  /** The READY line: boot id, the buffer's checksum, disk and network as the guest found them. */
  ready: Extract<GuestEvent, { kind: 'ready' }>;
}

/**
 * Defines and boots the guest, then waits for the workload's READY line and its first tick.
 * TCG boots the kernel in a few seconds; `timeoutMs` leaves room for a loaded machine.
 */
export async function bootLinuxGuest(conn: Connect, o: LinuxGuestOptions, timeoutMs = 90000): Promise<LinuxGuest> {
  const spec = linuxGuestSpec(o);
  const dom = await conn.defineXML(spec.xml);
  await dom.create();
  const console = new GuestConsole(spec.consolePath);
  const events = await console.waitFor('READY line and first tick', (ev) => ev.some((e) => e.kind === 'tick'), timeoutMs);
  const ready = events.find((e): e is Extract<GuestEvent, { kind: 'ready' }> => e.kind === 'ready');
  if (!ready) throw new Error(`guest ${o.name} ticks without a READY line:\n${console.lines.join('\n')}`);
  return { ...spec, dom, console, ready };
}

/** Destroys and undefines the guest, whatever state it is in (test teardown). */
export async function removeLinuxGuest(guest: LinuxGuest): Promise<void> {
  await guest.dom.destroy().catch(() => undefined);
  await guest.dom.undefine().catch(() => undefined);
}

/** Waits until the guest printed `count` more ticks than it had; returns the last tick. */
export async function waitForTicks(guest: LinuxGuest, count: number, timeoutMs = 30000): Promise<number> {
  const target = guest.console.lastTick() + count;
  await guest.console.waitFor(`tick ${target}`, () => guest.console.lastTick() >= target, timeoutMs);
  return guest.console.lastTick();
}

/** The record the workload writes for tick `tick` (sector tick mod the disk's sectors), as text. */
export function diskRecord(diskPath: string, sectors: number, tick: number): string {
  const fd = fs.openSync(diskPath, 'r');
  try {
    const buf = Buffer.alloc(512);
    fs.readSync(fd, buf, 0, 512, (tick % sectors) * 512);
    const end = buf.indexOf(0);
    return buf.subarray(0, end < 0 ? 512 : end).toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

/** Ticks in [from, to] whose record is not on the guest's disk image as the workload wrote it. */
export function missingDiskRecords(guest: LinuxGuest, from: number, to: number): number[] {
  const missing: number[] = [];
  for (let t = from; t <= to; t++) {
    if (diskRecord(guest.diskPath, guest.ready.diskSectors, t) !== `TSVIRT-DISK boot=${guest.ready.boot} tick=${t}\n`) missing.push(t);
  }
  return missing;
}
