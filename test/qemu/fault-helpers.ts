/**
 * What every fault-injection test checks after a failed save or restore: the guest in the run
 * state it had, its memory unchanged, the earlier image byte for byte, no temporary image file,
 * no writer or checksum child, no loop device, no lock or socket left in the run dir.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connect as ConnectApi, DomainState, RunningReason, ShutoffReason, type Connect, type Domain } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { isPartialImageName } from '../../src/util/image-path';
import { qemuPidsUnder, smallGuestXML, teardownQemuEnv, type QemuTestEnv } from '../helpers/qemu-env';
import { fillRandom, readGuestRam } from '../helpers/qemu-guest';

/** Guest RAM of the fault tests. */
export const RAM_MIB = 64;
export const RAM = RAM_MIB << 20;
/** The part of guest RAM the tests fill with random bytes and hash. */
export const FILL_AT = 8 << 20;
export const FILL_LEN = 16 << 20;

/** Shared memfd RAM, so every mode (region included) applies to the same guest. */
export const MEMFD = "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>";

/** Typed parameters of a save, by layout. */
export type FaultParams = Record<string, string | number>;

/** Every save layout the fault tests put through each fault. */
export const FAULT_MODES: Array<[string, FaultParams]> = [
  ['single', {}],
  ['zstd', { image_format: 'zstd' }],
  ['files', { 'parallel.channels': 2 }],
  ['region', { 'parallel.channels': 2, 'parallel.mode': 'region' }],
];

/** A running RAM_MIB memfd guest named `name` whose RAM holds FILL_LEN random bytes at FILL_AT. */
export async function filledGuest(conn: Connect, name: string, extraDevices = ''): Promise<Domain> {
  const dom = await conn.defineXML(smallGuestXML(name, RAM_MIB, extraDevices, MEMFD));
  await dom.create();
  await dom.suspend();
  fillRandom(qemuPidOf(dom.uuid)!, RAM, FILL_AT, FILL_AT + FILL_LEN);
  await dom.resume();
  return dom;
}

/** Destroys (when running) and undefines a test guest. */
export async function removeDomain(dom: Domain): Promise<void> {
  if (await dom.isActive()) await dom.destroy();
  await dom.undefine();
}

/** SHA-256 of the filled part of guest RAM, read through /proc/PID/mem. */
export function ramHash(dom: Domain): string {
  const pid = qemuPidOf(dom.uuid);
  if (!pid) throw new Error(`domain ${dom.name} has no QEMU`);
  return crypto.createHash('sha256').update(readGuestRam(pid, RAM, FILL_AT, FILL_LEN)).digest('hex');
}

/** Every file of the image at `file`: FILE, FILE.k and any temporary file of a save to it. */
export function imageFileNames(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return fs
    .readdirSync(dir)
    .filter((f) => f === base || f.startsWith(`${base}.`) || (isPartialImageName(f) && f.startsWith(`.${base}.`)))
    .sort();
}

/** name -> sha256 of every file of the image. */
export function imageSnapshot(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of imageFileNames(file)) out[f] = crypto.createHash('sha256').update(fs.readFileSync(path.join(path.dirname(file), f))).digest('hex');
  return out;
}

/** Live processes (not this one) whose command line mentions `needle`, as "PID: CMDLINE": helpers left behind. */
export function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1');
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
      if (cmd.includes(needle) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(`${p}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** This process's fds open on `file` (or its channel files). */
export function openFdsOn(file: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(file)) out.push(`${fd} -> ${target}`);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Loop devices backed by `file` (instant restores map images through them). */
export function loopDevicesOf(file: string): string {
  return execFileSync('losetup', ['-j', file], { encoding: 'utf8' }).trim();
}

/** Run-dir files of a running domain besides its status file and monitor (locks, sockets, scratch). */
export function runDirExtras(runDir: string, uuid: string): string[] {
  return fs
    .readdirSync(runDir)
    .filter((f) => f.startsWith(uuid) && !f.endsWith('.log') && !f.endsWith('.shutoff') && f !== `${uuid}.json` && f !== `${uuid}.qmp`)
    .sort();
}

/** A tmpfs of `mib` MiB mounted at a new dir under `parent`; returns it and its unmount. */
export function smallDisk(parent: string, label: string, mib: number): { dir: string; unmount(): void } {
  const dir = fs.mkdtempSync(path.join(parent, `${label}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  return {
    dir,
    unmount(): void {
      execFileSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A directory whose I/O can be made to fail with EIO (test/helpers/eio-fs.py over FUSE). */
export interface EioDisk {
  dir: string;
  /** "write N" / "read N": I/O reaching byte N of any file fails; "fsync N": the fsync of a file of N bytes or more fails; "slow N": reads take N ms more; "off". */
  fault(mode: string): void;
  unmount(): Promise<void>;
}

/** Mounts an EIO-injecting pass-through filesystem at a new dir under `parent`. */
export async function eioDisk(parent: string, label: string): Promise<EioDisk> {
  const dir = fs.mkdtempSync(path.join(parent, `${label}-`));
  const backing = fs.mkdtempSync(path.join(parent, `${label}-backing-`));
  const child = spawn('/usr/bin/python3', [path.join(__dirname, '..', 'helpers', 'eio-fs.py'), backing, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const mounted = (): boolean => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
  for (let i = 0; !mounted(); i++) {
    if (i > 200 || child.exitCode !== null) throw new Error('eio-fs did not mount');
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    dir,
    fault(mode: string): void {
      fs.writeFileSync(path.join(dir, '.fault'), mode);
    },
    async unmount(): Promise<void> {
      execFileSync('umount', ['-l', dir]);
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(backing, { recursive: true, force: true });
    },
  };
}

/** What {@link useEioDiskFixture} gives a test file: its connection and its FUSE disk. */
export interface EioDiskFixture {
  conn(): Connect;
  disk(): EioDisk;
}

/**
 * Registers a test file's hooks: a qemu:///session connection and an EIO disk under `workDir`
 * for the whole file, the fault cleared after each test, everything torn down after the last.
 */
export function useEioDiskFixture(env: QemuTestEnv, label: string): EioDiskFixture {
  let conn: Connect | undefined;
  let disk: EioDisk | undefined;
  beforeAll(async () => {
    conn = await ConnectApi.open('qemu:///session');
    disk = await eioDisk(env.workDir, label);
  }, 30000);
  afterAll(async () => {
    await conn?.close().catch(() => undefined);
    await disk?.unmount();
    teardownQemuEnv(env);
  });
  afterEach(() => disk?.fault('off'));
  return { conn: () => conn!, disk: () => disk! };
}

/** Saves a filled guest to `file` for a restore test: its RAM hash and the image's files as saved. */
export async function savedForRestore(dom: Domain, file: string, params: FaultParams): Promise<{ hash: string; saved: Record<string, string> }> {
  const hash = ramHash(dom);
  await dom.saveParams({ file, ...params });
  return { hash, saved: imageSnapshot(file) };
}

/**
 * After a restore that failed once QEMU ran: shut off "failed" (as libvirt), no job, no QEMU,
 * helper, fd or run-dir file left, the image as saved; then the same image restores the guest
 * with its memory.
 */
export async function expectRestoreFailedCleanly(env: QemuTestEnv, conn: Connect, dom: Domain, file: string, saved: Record<string, string>, hash: string): Promise<void> {
  expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.FAILED });
  expect((await dom.getJobInfo()).type).toBe(0);
  expect(qemuPidsUnder(env.root)).toEqual([]);
  expect(processesMentioning(file)).toEqual([]);
  expect(openFdsOn(file)).toEqual([]);
  expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
  expect(imageSnapshot(file)).toEqual(saved);
  await conn.restoreParams({ file });
  expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
  expect(ramHash(dom)).toBe(hash);
}

/** The built tsvirsh, run by the tests that need a second process holding a guest. */
const TSVIRSH = path.join(__dirname, '..', '..', 'bin', 'tsvirsh.js');

/** Runs `tsvirsh -c URI ARGS...` in its own process (this test file's environment). */
export function tsvirsh(args: string[], uri = 'qemu:///session'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSVIRSH, '-c', uri, ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
