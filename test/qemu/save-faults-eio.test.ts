/**
 * EIO, the error of a failing disk, injected by a FUSE pass-through filesystem
 * (test/helpers/eio-fs.py): for every save layout, a write error mid-image and a failing fsync
 * fail the save and leave the guest, its memory and the earlier image as they were; a read error
 * mid-image fails the restore before a guest runs, and the same image restores once the disk
 * reads again.
 */
import path from 'node:path';
import { DomainState, ErrorCode, RunningReason, type Domain } from '../../src';
import { virErrorOf } from '../conformance/helpers';
import { setupQemuEnv } from '../helpers/qemu-env';
import { FAULT_MODES, expectRestoreFailedCleanly, filledGuest, imageSnapshot, processesMentioning, ramHash, removeDomain, runDirExtras, savedForRestore, useEioDiskFixture } from './fault-helpers';

const env = setupQemuEnv('save-eio');
const fx = useEioDiskFixture(env, 'eio');
let seq = 0;

const guest = (): Promise<Domain> => filledGuest(fx.conn(), `eio-${process.pid}-${++seq}`);

describe.each(FAULT_MODES)('%s image on a disk that fails with EIO', (mode, params) => {
  it.each([['a write 4 MiB into the image', 'write 4194304'], ['the fsync of the written image', 'fsync 4194304']])('save: %s fails the save naming EIO; earlier image, guest and memory unharmed', async (_what, fault) => {
    const dom = await guest();
    const file = path.join(fx.disk().dir, `save-${mode}-${seq}.img`);
    try {
      await dom.saveParams({ file, ...params });
      await fx.conn().restoreParams({ file });
      const before = imageSnapshot(file);
      const hash = ramHash(dom);
      fx.disk().fault(fault);
      const e = await virErrorOf(dom.saveParams({ file, ...params }));
      fx.disk().fault('off');
      expect([ErrorCode.OPERATION_FAILED, ErrorCode.SYSTEM_ERROR]).toContain(e.code);
      expect(e.message).toMatch(/Input\/output error/);
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
      expect(ramHash(dom)).toBe(hash);
      expect(imageSnapshot(file)).toEqual(before);
      expect(processesMentioning(file)).toEqual([]);
      expect(runDirExtras(env.runDir, dom.uuid)).toEqual([]);
    } finally {
      await removeDomain(dom);
    }
  }, 120000);

  it('restore: a read error 4 MiB into the image fails before a guest runs; the image restores once the disk reads again', async () => {
    const dom = await guest();
    const file = path.join(fx.disk().dir, `restore-${mode}.img`);
    try {
      const { hash, saved } = await savedForRestore(dom, file, params);
      fx.disk().fault('read 4194304');
      const e = await virErrorOf(fx.conn().restoreParams({ file }));
      fx.disk().fault('off');
      expect([ErrorCode.OPERATION_FAILED, ErrorCode.SYSTEM_ERROR, ErrorCode.INTERNAL_ERROR]).toContain(e.code);
      expect(e.message).toContain(file);
      await expectRestoreFailedCleanly(env, fx.conn(), dom, file, saved, hash);
    } finally {
      await removeDomain(dom);
    }
  }, 120000);
});
