/**
 * The guest of the libvirt save-interop tests: the counter boot sector on a virtio disk, with a
 * user-mode NIC, so that "it continues after the restore" is observable (the counter keeps
 * counting) and a random region written through /proc/PID/mem can be compared between the QEMU
 * that saved and the one that restored, whoever started each.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { COUNTER_GPA, counterBootSector, fillRandom, readGuestRam } from './qemu-guest';
import { runTool } from '../remote/run-tool';
import type { QemuLibvirtd } from './libvirtd-qemu';

export const RAM_MIB = 64;
const RAM = RAM_MIB << 20;
const FILL_AT = 8 << 20;
const FILL_LEN = 8 << 20;
/** Shared memfd RAM (what tsvirt's region mode needs). */
export const MEMFD = "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>";

/** Writes the counter disk into `dir`; returns its path. */
export function counterDisk(dir: string): string {
  const disk = path.join(dir, 'counter.img');
  const img = Buffer.alloc(1 << 20);
  counterBootSector().copy(img);
  fs.writeFileSync(disk, img);
  return disk;
}

/** The guest's XML; `emulator` is a `<devices><emulator>` path, `topLevel` e.g. MEMFD. */
export function interopGuestXML(name: string, disk: string, o: { topLevel?: string; emulator?: string } = {}): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>${RAM_MIB}</memory>${o.topLevel ?? ''}<vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
<devices>${o.emulator ? `<emulator>${o.emulator}</emulator>` : ''}
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
<interface type='user'><mac address='52:54:00:3a:91:07'/><model type='virtio'/></interface>
</devices></domain>`;
}

/** Runs the daemon's own virsh against it; throws with its stderr unless it exits 0. */
export async function virshOf(lv: QemuLibvirtd, ...args: string[]): Promise<string> {
  const r = await runTool(lv.virsh.path, ['-c', lv.uri, ...args], { timeoutMs: 120000, env: lv.virsh.env });
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** The pid of the QEMU libvirt runs for guest `name` (`-name guest=NAME,...`). */
export function libvirtQemuPid(name: string): number {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('-name');
    if (i >= 0 && argv[i + 1]?.startsWith(`guest=${name},`)) return Number(p);
  }
  throw new Error(`no libvirt QEMU runs ${name}`);
}

/** The `format` field of a complete libvirt save header (after magic, version, data_len, was_running). */
export function headerFormat(file: string): number {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(32);
  fs.readSync(fd, head, 0, 32, 0);
  fs.closeSync(fd);
  if (head.toString('latin1', 0, 16) !== 'LibvirtQemudSave') throw new Error(`${file} is not a complete libvirt save image`);
  return head.readUInt32LE(28);
}

/** The guest's counter, read from its QEMU's memory. */
export const counterOf = (pid: number): number => readGuestRam(pid, RAM, COUNTER_GPA, 4).readUInt32LE(0);
/** SHA-256 of the test region of the guest's RAM. */
export const regionHash = (pid: number): string => crypto.createHash('sha256').update(readGuestRam(pid, RAM, FILL_AT, FILL_LEN)).digest('hex');

/** Waits until the counter of `pid` has moved past `from`: the guest's CPU runs its loop. */
export async function expectCounting(pid: number, from: number): Promise<void> {
  const end = Date.now() + 20000;
  while (counterOf(pid) === from) {
    if (Date.now() > end) throw new Error(`counter of QEMU ${pid} stays at ${from}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pauses the guest, fills the test region with random bytes, resumes; returns its hash and the counter then. */
export async function fillWhilePaused(pause: () => Promise<unknown>, resume: () => Promise<unknown>, pid: number): Promise<{ hash: string; counter: number }> {
  await pause();
  const hash = fillRandom(pid, RAM, FILL_AT, FILL_AT + FILL_LEN);
  const counter = counterOf(pid);
  await resume();
  return { hash, counter };
}

/** Checks the guest in `pid` holds the region saved in `before` and continues counting from there. */
export async function expectContinued(pid: number, before: { hash: string; counter: number }): Promise<void> {
  if (regionHash(pid) !== before.hash) throw new Error(`QEMU ${pid}: the test region differs from the saved guest's`);
  const c = counterOf(pid);
  if (c < before.counter) throw new Error(`QEMU ${pid}: counter ${c} is behind the saved ${before.counter}`);
  await expectCounting(pid, c);
}

/**
 * libvirt's side of a "libvirt saves" case: defines and starts guest `name` from `xml` on `lv`,
 * fills its test region while paused, then `virsh save NAME FILE ...saveArgs`. Returns the image
 * and what the restored guest must show.
 */
export async function libvirtSavedGuest(lv: QemuLibvirtd, dir: string, name: string, xml: string, saveArgs: string[] = []): Promise<{ file: string; before: { hash: string; counter: number } }> {
  const xmlFile = path.join(dir, `${name}.xml`);
  fs.writeFileSync(xmlFile, xml);
  await virshOf(lv, 'define', xmlFile);
  await virshOf(lv, 'start', name);
  const pid = libvirtQemuPid(name);
  await expectCounting(pid, 0);
  const before = await fillWhilePaused(() => virshOf(lv, 'suspend', name), () => virshOf(lv, 'resume', name), pid);
  const file = path.join(dir, `${name}.save`);
  await virshOf(lv, 'save', name, file, ...saveArgs);
  return { file, before };
}

/** Destroys and (when persistent) undefines a guest tsvirt restored; a restored guest is transient. */
export async function removeRestored(dom: { isPersistent(): Promise<boolean>; isActive(): Promise<boolean>; destroy(): Promise<void>; undefine(): Promise<void> }): Promise<void> {
  const persistent = await dom.isPersistent();
  if (await dom.isActive()) await dom.destroy();
  if (persistent) await dom.undefine();
}
