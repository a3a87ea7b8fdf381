/**
 * The part of the conformance suite that holds every driver to "a failed save loses nothing":
 * an aborted save keeps the earlier image (single and parallel) byte for byte and the guest in
 * its run state, and image paths that cannot take an image are refused before the guest is
 * touched. Written against the public API only, like the rest of the suite.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connect, DomainState, ErrorCode, RunningReason, type Domain } from '../index';
import type { ConformanceTarget } from './conformance-target';
import { virErrorOf, waitFor } from './wait';

/** What the checks need from the suite that registers them. */
export interface SaveSafetyContext {
  target(): ConformanceTarget;
  connection(): Connect;
  /** A new running domain of the suite's naming scheme (the suite's afterAll removes it). */
  fresh(): Promise<Domain>;
  /** A new domain whose save on the target's slow URI takes a while, started on `conn`. */
  slowDomain(conn: Connect): Promise<Domain>;
}

const execFileAsync = promisify(execFile);

/** name -> sha256 of FILE, FILE.k and any hidden temporary file of a write to FILE. */
function imageFiles(file: string): Record<string, string> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    if (f !== base && !f.startsWith(`${base}.`) && !f.startsWith(`.${base}.`)) continue;
    out[f] = createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex');
  }
  return out;
}

/** Registers the save-safety checks inside the caller's `describe`. */
export function saveSafetyChecks(ctx: SaveSafetyContext): void {
  describe('save safety', () => {
    it.each([
      ['single stream', {}],
      ['two parallel channels', { 'parallel.channels': 2 }],
    ])('an aborted save (%s) keeps the earlier image byte for byte and the guest running', async (_label, params) => {
      const t = ctx.target();
      const slow = await Connect.open(t.slowUri);
      try {
        const dom = await ctx.slowDomain(slow);
        const file = path.join(t.workDir, `keep-${dom.name}.img`);
        // The earlier image at full speed; only the save that is aborted runs slowly.
        const fast = await ctx.connection().lookupDomainByName(dom.name);
        await fast.saveParams({ file, ...params });
        await ctx.connection().restoreParams({ file });
        const earlier = imageFiles(file);
        expect(Object.keys(earlier).length).toBeGreaterThan(0);
        const saving = dom.saveParams({ file, ...params });
        saving.catch(() => undefined);
        await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, t.opTimeoutMs, 'save progress');
        await dom.abortJob();
        expect((await virErrorOf(saving)).code).toBe(ErrorCode.OPERATION_ABORTED);
        expect(imageFiles(file)).toEqual(earlier);
        expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
        // The kept image is still the one that restores.
        await dom.destroy();
        await ctx.connection().restoreParams({ file });
        expect((await dom.getState()).state).toBe(DomainState.RUNNING);
        await dom.destroy();
        await dom.undefine();
      } finally {
        await slow.close();
      }
    }, 180000);

    it('refuses a FIFO, a directory and a missing directory as image paths before the guest is touched', async () => {
      const t = ctx.target();
      const dom = await ctx.fresh();
      const before = await dom.getState();
      const fifo = path.join(t.workDir, `fifo-${dom.name}`);
      // node:fs has no mknod.
      await execFileAsync('mkfifo', [fifo]);
      // A FIFO would block libvirt's open: refusing it up front is tsvirt's rule. A directory
      // may also fail the way libvirt's open does (SYSTEM_ERROR "Is a directory").
      expect((await virErrorOf(dom.save(fifo))).code).toBe(ErrorCode.INVALID_ARG);
      expect([ErrorCode.INVALID_ARG, ErrorCode.SYSTEM_ERROR]).toContain((await virErrorOf(dom.save(t.workDir))).code);
      const missing = path.join(t.workDir, `no-such-dir-${dom.name}`, 'x.img');
      const e = await virErrorOf(dom.save(missing));
      expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
      expect(e.message).toContain('No such file or directory');
      expect(fs.existsSync(path.dirname(missing))).toBe(false);
      expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
      expect(await dom.getState()).toEqual(before);
      fs.rmSync(fifo);
    }, 120000);
  });
}
