/**
 * Faults a restore meets once QEMU runs, for every layout: QEMU SIGKILLed while it loads the
 * image (made slow by a FUSE disk that delays reads, so the kill lands mid-load). And two
 * processes saving one guest at the same moment. After each: a VirError, the guest's domain in a
 * defined state, no QEMU, helper, fd or run-dir file left, and the image as it was, restoring
 * the guest's memory once the fault is gone.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, ErrorCode, ShutoffReason, type Domain } from '../../src';
import { qemuMonitorCommand, qemuPidOf } from '../../src/drivers/qemu';
import { isPartialImageName } from '../../src/util/image-path';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { setupQemuEnv, smallGuestXML } from '../helpers/qemu-env';
import { FAULT_MODES, RAM_MIB, expectRestoreFailedCleanly, filledGuest, removeDomain, runDirExtras, savedForRestore, tsvirsh, useEioDiskFixture } from './fault-helpers';

const env = setupQemuEnv('restore-faults');
const fx = useEioDiskFixture(env, 'slow');
let seq = 0;

const guest = (): Promise<Domain> => filledGuest(fx.conn(), `rf-${process.pid}-${++seq}`);

/** True while the restore is moving the image: QEMU's incoming migration is active, or tsvirt copied data. */
async function loading(dom: Domain): Promise<boolean> {
  if ((await dom.getJobInfo()).dataProcessed > 0) return true;
  const mig = (await qemuMonitorCommand(dom.uuid, 'query-migrate').catch(() => ({}))) as { status?: string };
  return mig.status === 'active';
}

describe.each(FAULT_MODES)('%s restore', (mode, params) => {
  it('QEMU SIGKILLed while loading: a VirError, the domain shut off, nothing left, the image restores after', async () => {
    const dom = await guest();
    const file = path.join(fx.disk().dir, `kill-${mode}.img`);
    try {
      const { hash, saved } = await savedForRestore(dom, file, params);
      fx.disk().fault('slow 25');
      const restoring = fx.conn().restoreParams({ file });
      restoring.catch(() => undefined);
      await waitFor(() => qemuPidOf(dom.uuid) !== undefined, 20000, 'the restore to start QEMU');
      // Mid-load: QEMU's incoming migration runs, or (region) the RAM copy has moved data.
      await waitFor(async () => (await loading(dom)), 20000, 'the image to be loading');
      const pid = qemuPidOf(dom.uuid);
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      const e = await virErrorOf(restoring);
      fx.disk().fault('off');
      expect([ErrorCode.OPERATION_FAILED, ErrorCode.INTERNAL_ERROR, ErrorCode.SYSTEM_ERROR]).toContain(e.code);
      // As libvirt after a failed restore: "failed", not "crashed".
      await expectRestoreFailedCleanly(env, fx.conn(), dom, file, saved, hash);
    } finally {
      await removeDomain(dom);
    }
  }, 120000);
});

describe('two processes saving one guest at once', () => {
  it('exactly one save wins; the other is refused and its earlier image kept; no partial file is left', async () => {
    const name = `rf-two-${process.pid}`;
    const dom = await fx.conn().defineXML(smallGuestXML(name, RAM_MIB));
    // Started by another process, so that neither saver finds the monitor held by this one.
    expect((await tsvirsh(['start', name])).code).toBe(0);
    const files = [path.join(env.workDir, 'two-a.img'), path.join(env.workDir, 'two-b.img')];
    const earlier = files.map(() => crypto.randomBytes(50_000));
    files.forEach((f, i) => fs.writeFileSync(f, earlier[i]));
    // 256 KiB/s: the winner's save lasts over a second, so the two surely overlap.
    const results = await Promise.all(files.map((f) => tsvirsh(['save', name, f], 'qemu:///session?save_max_bandwidth=262144')));
    const won = results.findIndex((r) => r.code === 0);
    expect(won).toBeGreaterThanOrEqual(0);
    const lost = 1 - won;
    expect(results[lost].code).not.toBe(0);
    expect(results[lost].stderr).toMatch(/error: /);
    expect(fs.readFileSync(files[won]).subarray(0, 16).toString('latin1')).toBe('LibvirtQemudSave');
    expect(fs.readFileSync(files[lost]).equals(earlier[lost])).toBe(true);
    expect(fs.readdirSync(env.workDir).filter(isPartialImageName)).toEqual([]);
    const fresh = await Connect.open('qemu:///session');
    try {
      const d = await fresh.lookupDomainByName(name);
      expect(await d.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
      expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
      await fresh.restore(files[won]);
      expect((await d.getState()).state).toBe(DomainState.RUNNING);
      await d.destroy();
      await d.undefine();
    } finally {
      await fresh.close();
    }
  }, 120000);
});
