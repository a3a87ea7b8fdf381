/**
 * A save or an AUTODESTROY guest outlives the process or client that asked for it, the way an
 * operator meets it: tsvirtd SIGKILLed in the middle of a save and started again, a virsh killed
 * while its save runs in the daemon, a library process killed while it owns an AUTODESTROY guest.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, ErrorCode, RunningReason, ShutoffReason } from '../../src';
import { processAlive, processIdentity } from '../../src/drivers/qemu/process';
import { isPartialImageName } from '../../src/util/image-path';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { qemuPidsUnder, setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { fillRandom } from '../helpers/qemu-guest';
import { spawnTsvirtd, type DaemonProcess } from '../remote/process-helpers';
import { runTool } from '../remote/run-tool';
import { runDirExtras } from './fault-helpers';

const env = setupQemuEnv('owner-death');
const sockDir = path.join(env.root, 'sock');
const rw = path.join(sockDir, 'libvirt-sock');
const uri = `qemu+unix:///session?socket=${rw}`;
// 256 KiB/s: a save of a guest with 32 MiB of random RAM runs for minutes, long enough to kill.
const slowUri = `${uri}&save_max_bandwidth=262144`;
let daemon: DaemonProcess | null = null;
let seq = 0;

async function startDaemon(): Promise<void> {
  daemon = await spawnTsvirtd(['--socket-dir', sockDir]);
}

async function killDaemon(): Promise<void> {
  const d = daemon!;
  daemon = null;
  d.child.kill('SIGKILL');
  await d.exited;
}

afterAll(async () => {
  if (daemon) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  teardownQemuEnv(env);
});

/** Defines and starts a guest through `conn`, with `randomMiB` of random RAM so its save takes a while. */
async function runningGuest(conn: Connect, randomMiB: number): Promise<string> {
  const name = `owner-${process.pid}-${++seq}`;
  const dom = await conn.defineXML(smallGuestXML(name, 128));
  await dom.create();
  if (randomMiB) {
    await dom.suspend();
    fillRandom(qemuPid(dom.uuid), 128 << 20, 16 << 20, (16 + randomMiB) << 20);
    await dom.resume();
  }
  return name;
}

/** The QEMU pid of a running guest, from its status file (the daemon, not this process, runs it). */
function qemuPid(uuid: string): number {
  return (JSON.parse(fs.readFileSync(path.join(env.runDir, `${uuid}.json`), 'utf8')) as { pid: number }).pid;
}

const partials = (): string[] => fs.readdirSync(env.workDir).filter((f) => isPartialImageName(f));

describe('a save outlives its client; a killed daemon is cleaned up after', () => {
  beforeAll(startDaemon, 30000);

  it('tsvirtd SIGKILLed mid-save: the restarted daemon resumes the guest and keeps the earlier image', async () => {
    const conn = await Connect.open(slowUri);
    const name = await runningGuest(conn, 32);
    const dom = await conn.lookupDomainByName(name);
    const file = path.join(env.workDir, 'daemon-killed.img');
    const earlier = crypto.randomBytes(200_000);
    fs.writeFileSync(file, earlier);
    const saving = dom.save(file);
    saving.catch(() => undefined);
    await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, 30000, 'save progress');
    expect(partials()).toHaveLength(1);
    const pid = qemuPid(dom.uuid);
    await killDaemon();
    // The client learns its daemon is gone; the call does not hang.
    const e = await virErrorOf(saving);
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    await conn.close().catch(() => undefined);

    await startDaemon();
    const again = await Connect.open(uri);
    try {
      const d2 = await again.lookupDomainByName(name);
      expect(await d2.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
      expect(processAlive(pid)).toBe(true);
      expect((await d2.getJobInfo()).type).toBe(0);
      expect(fs.readFileSync(file).equals(earlier)).toBe(true);
      expect(partials()).toEqual([]);
      expect(runDirExtras(env.runDir, d2.uuid)).toEqual([]);
      // The guest is usable: a save now completes and the image restores.
      await d2.save(file);
      expect(fs.readFileSync(file).subarray(0, 16).toString('latin1')).toBe('LibvirtQemudSave');
      await again.restore(file);
      expect((await d2.getState()).state).toBe(DomainState.RUNNING);
      await d2.destroy();
      await d2.undefine();
    } finally {
      await again.close();
    }
  }, 180000);

  it('virsh SIGKILLed while its save runs in tsvirtd: the save completes, the image restores', async () => {
    const holder = await Connect.open(uri);
    const name = await runningGuest(holder, 2);
    const dom = await holder.lookupDomainByName(name);
    const file = path.join(env.workDir, 'virsh-killed.img');
    // 1 MiB/s: the 2 MiB of random RAM plus device state take a few seconds, enough to kill virsh.
    const child = spawn('virsh', ['-c', `${uri}&save_max_bandwidth=1048576`, 'save', name, file], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await waitFor(async () => (await dom.getJobInfo()).type !== 0, 30000, 'the save job');
    child.kill('SIGKILL');
    await exited;
    expect((await dom.getJobInfo()).type).not.toBe(0);
    // As in libvirt, the job belongs to the daemon: it runs to its end without its client.
    await waitFor(async () => (await dom.getState()).state === DomainState.SHUTOFF, 60000, 'the save to finish');
    expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
    expect(fs.readFileSync(file).subarray(0, 16).toString('latin1')).toBe('LibvirtQemudSave');
    expect(partials()).toEqual([]);
    const restored = await runTool('virsh', ['-c', uri, 'restore', file], { timeoutMs: 60000 });
    expect(restored.stdout).toContain(`Domain restored from ${file}`);
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    await dom.destroy();
    await dom.undefine();
    await holder.close();
  }, 120000);

  it('virsh create --autodestroy: the guest goes when virsh exits; a killed daemon takes its client guests along', async () => {
    const xmlFile = path.join(env.workDir, 'ad.xml');
    fs.writeFileSync(xmlFile, smallGuestXML(`ad-${process.pid}`, 64));
    const created = await runTool('virsh', ['-c', uri, 'create', xmlFile, '--autodestroy'], { timeoutMs: 60000 });
    expect(created.code).toBe(0);
    const list = await runTool('virsh', ['-c', uri, 'list', '--all', '--name'], { timeoutMs: 30000 });
    expect(list.stdout).not.toContain(`ad-${process.pid}`);
    expect(qemuPidsUnder(env.root)).toEqual([]);

    // A client that holds an AUTODESTROY guest while the daemon is SIGKILLed: its connection is
    // gone with the daemon, so the next daemon destroys the guest instead of keeping it for ever.
    const conn = await Connect.open(uri);
    const dom = await conn.createXML(smallGuestXML(`ad2-${process.pid}`, 64), 2);
    expect(qemuPidsUnder(env.root)).toHaveLength(1);
    await killDaemon();
    await conn.close().catch(() => undefined);
    expect(qemuPidsUnder(env.root)).toHaveLength(1);
    await startDaemon();
    const again = await Connect.open(uri);
    try {
      expect((await virErrorOf(again.lookupDomainByName(dom.name))).code).toBe(ErrorCode.NO_DOMAIN);
      await waitFor(() => qemuPidsUnder(env.root).length === 0, 10000, 'QEMU to exit');
      expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
    } finally {
      await again.close();
    }
  }, 120000);
});

describe('an AUTODESTROY guest whose library process is killed', () => {
  it('is destroyed by the next open, and not while its owner lives', async () => {
    const xmlFile = path.join(env.workDir, 'lib-ad.xml');
    const name = `libad-${process.pid}`;
    fs.writeFileSync(xmlFile, smallGuestXML(name, 64));
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'qemu-autodestroy-child.js'), 'qemu:///session', xmlFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => /started \d+/.test(out), 30000, 'the child to start its guest');
    const ownedPid = Number(/started (\d+)/.exec(out)![1]);
    // The owner lives: another process's open keeps the guest.
    const peer = await Connect.open('qemu:///session');
    expect((await (await peer.lookupDomainByName(name)).getState()).state).toBe(DomainState.RUNNING);
    await peer.close();
    expect(processAlive(ownedPid)).toBe(true);

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const conn = await Connect.open('qemu:///session');
    try {
      expect((await virErrorOf(conn.lookupDomainByName(name))).code).toBe(ErrorCode.NO_DOMAIN);
      expect(processAlive(ownedPid)).toBe(false);
    } finally {
      await conn.close();
    }
  }, 60000);
});

describe('an AUTODESTROY owner judged by pid and start time, not by the monitor', () => {
  it('a live owner keeps the guest; the same pid with another start time (a reused pid) does not', async () => {
    const name = `owner-id-${process.pid}`;
    let conn = await Connect.open('qemu:///session');
    const dom = await conn.defineXML(smallGuestXML(name, 64));
    await dom.create();
    const uuid = dom.uuid;
    // The last connection closing frees the monitor: the next open reaches the owner check.
    await conn.close();
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const statusFile = path.join(env.runDir, `${uuid}.json`);
      const setOwner = (owner: object): void => {
        const rec = JSON.parse(fs.readFileSync(statusFile, 'utf8')) as Record<string, unknown>;
        fs.writeFileSync(statusFile, JSON.stringify({ ...rec, autoDestroyOwner: owner }));
      };
      const owner = processIdentity(sleeper.pid!);
      expect(owner.start).toBeGreaterThan(0);
      setOwner(owner);
      conn = await Connect.open('qemu:///session');
      expect((await (await conn.lookupDomainByName(name)).getState()).state).toBe(DomainState.RUNNING);
      await conn.close();

      setOwner({ ...owner, start: owner.start + 1 });
      conn = await Connect.open('qemu:///session');
      const d = await conn.lookupDomainByName(name);
      expect(await d.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED });
      expect(fs.existsSync(statusFile)).toBe(false);
      await d.undefine();
      await conn.close();
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 60000);
});
