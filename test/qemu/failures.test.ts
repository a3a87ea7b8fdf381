/**
 * Save failures on real QEMU: whatever goes wrong, no image carries the Save magic unless it is
 * complete, no partial file / socket / status file is left behind, and the guest keeps its state
 * (running again with reason "save canceled") unless it was QEMU itself that died.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, ErrorCode, RunningReason, ShutoffReason, type Domain } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { qemuPidsUnder, setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { writeGuestRam } from '../helpers/qemu-guest';
import { isPartialImageName } from '../../src/util/image-path';

const env = setupQemuEnv('qemu-fail');
const SLOW = 'qemu:///session?save_max_bandwidth=262144';
let conn: Connect;
let seq = 0;

beforeAll(async () => {
  conn = await Connect.open('qemu:///session');
});
afterAll(async () => {
  await conn.close().catch(() => undefined);
  teardownQemuEnv(env);
});

/**
 * Run dir files of a domain (status, socket, lock, writer status) except what is kept on
 * purpose: QEMU's log, and the record of why an inactive persistent domain stopped.
 */
function runLeftovers(uuid: string): string[] {
  return fs.readdirSync(env.runDir).filter((f) => f.startsWith(uuid) && !f.endsWith('.log') && !f.endsWith('.shutoff'));
}

async function guest(c: Connect, mib = 64): Promise<Domain> {
  const dom = await c.defineXML(smallGuestXML(`fail-${process.pid}-${++seq}`, mib));
  await dom.create();
  return dom;
}

describe('save failures', () => {
  it('QEMU killed mid-save: error, no image, no leftovers, domain shut off (crashed)', async () => {
    const slow = await Connect.open(SLOW);
    try {
      const dom = await slow.lookupDomainByName((await guest(conn, 256)).name);
      const file = path.join(env.workDir, 'killed-qemu.img');
      const saving = dom.save(file);
      saving.catch(() => undefined);
      await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, 20000, 'save progress');
      process.kill(qemuPidOf(dom.uuid)!, 'SIGKILL');
      const e = await virErrorOf(saving);
      expect([ErrorCode.OPERATION_FAILED, ErrorCode.INTERNAL_ERROR]).toContain(e.code);
      expect(fs.existsSync(file)).toBe(false);
      expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED });
      expect(runLeftovers(dom.uuid)).toEqual([]);
      expect(fs.readFileSync(path.join(env.runDir, `${dom.uuid}.shutoff`), 'utf8').trim()).toBe(String(ShutoffReason.CRASHED));
      expect(qemuPidsUnder(env.root).length).toBe(0);
      await dom.undefine();
    } finally {
      await slow.close();
    }
  }, 60000);

  it('unwritable path: SYSTEM_ERROR before the guest is touched', async () => {
    const dom = await guest(conn);
    const notDir = path.join(env.workDir, 'plain-file');
    fs.writeFileSync(notDir, 'x');
    const e = await virErrorOf(dom.save(path.join(notDir, 'x.img')));
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(e.message).toContain('Not a directory');
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.BOOTED });
    expect(runLeftovers(dom.uuid).sort()).toEqual([`${dom.uuid}.json`, `${dom.uuid}.qmp`]);
    await dom.destroy();
    await dom.undefine();
  }, 60000);

  it('disk full (a 4 MiB tmpfs): the partial file is removed, the guest runs again', async () => {
    const mnt = path.join(env.root, 'tiny');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    try {
      const dom = await guest(conn);
      await dom.suspend();
      writeGuestRam(qemuPidOf(dom.uuid)!, 64 << 20, 16 << 20, crypto.randomBytes(16 << 20));
      await dom.resume();
      const file = path.join(mnt, 'full.img');
      const e = await virErrorOf(dom.save(file));
      expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
      expect(fs.readdirSync(mnt)).toEqual([]);
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
      await dom.destroy();
      await dom.undefine();
    } finally {
      execFileSync('umount', [mnt]);
    }
  }, 60000);

  it.each([[0], [2]])('the tsvirt process killed mid-save (%i parallel channels): the next open removes the partial files and resumes the guest', async (channels) => {
    const name = (await guest(conn, 256)).name;
    // Hand the guest over: QEMU serves one monitor client, the child process needs it.
    await conn.close();
    const file = path.join(env.workDir, `orphan-${channels}.img`);
    // An earlier image at the path must survive the dead save byte for byte.
    const earlier = crypto.randomBytes(100_000);
    fs.writeFileSync(file, earlier);
    const partials = (): string[] => fs.readdirSync(env.workDir).filter((f) => isPartialImageName(f) && f.startsWith(`.orphan-${channels}.img.`));
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'qemu-save-child.js'), SLOW, name, file, ...(channels ? [String(channels)] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    await waitFor(() => out.includes('progress'), 30000, 'child save progress');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    expect(fs.readFileSync(file).equals(earlier)).toBe(true);
    const main = partials().filter((f) => !/\.\d+$/.test(f));
    expect(main).toHaveLength(1);
    expect(fs.readFileSync(path.join(env.workDir, main[0])).subarray(0, 16).toString('latin1')).toBe('LibvirtQemudPart');

    conn = await Connect.open('qemu:///session');
    const dom = await conn.lookupDomainByName(name);
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
    expect(fs.readFileSync(file).equals(earlier)).toBe(true);
    expect(partials()).toEqual([]);
    for (let k = 1; k <= channels; k++) expect(fs.existsSync(`${file}.${k}`)).toBe(false);
    expect(runLeftovers(dom.uuid).sort()).toEqual([`${dom.uuid}.json`, `${dom.uuid}.qmp`]);
    await dom.destroy();
    await dom.undefine();
  }, 60000);
});
