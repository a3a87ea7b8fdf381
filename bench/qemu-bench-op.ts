/**
 * One save, restore or destroy through tsvirt, run in its own Node process so the benchmark can
 * report that operation's own peak RSS (VmHWM) instead of the whole benchmark's. The guest
 * outlives this process (the QEMU driver reconnects to it from its status files).
 *
 * While a save runs it also polls QEMU's `query-migrate`, so the parent can split the wall time
 * into "before QEMU streams", "QEMU streaming" and "after QEMU said completed".
 *
 * Usage (by qemu-bench-guest.ts): node dist/bench/qemu-bench-op.js '<OpRequest JSON>'
 * Prints one OpResult JSON line.
 */
import fs from 'node:fs';
import { Connect } from '../src';
import { qemuMonitorCommand } from '../src/drivers/qemu';

/** What the parent asks for. */
export interface OpRequest {
  op: 'save' | 'restore' | 'destroy';
  /** Domain name (save, destroy). */
  name?: string;
  file?: string;
  params?: Record<string, string | number | boolean>;
  flags?: number;
}

/** QEMU's view of an outgoing migration, times relative to the start of the operation. */
export interface QemuPhase {
  /** When QEMU started the migration (ms after the call). */
  startMs: number;
  /** When QEMU reported "completed" (ms after the call). */
  endMs: number;
  /** Bytes QEMU reported as transferred. */
  transferred: number;
}

/** What the child reports. */
export interface OpResult {
  ms: number;
  /** Peak RSS of this process (VmHWM). */
  hwmKiB: number;
  /** RSS just before the operation (Node + tsvirt loaded, connection open). */
  rssBeforeKiB: number;
  qemu?: QemuPhase;
  error?: string;
}

interface MigrateInfo {
  status?: string;
  'total-time'?: number;
  ram?: { transferred?: number };
}

function statusKiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) : 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls query-migrate until stopped; the earliest (poll time - total-time) bounds QEMU's start.
 * A guest that was itself restored reports its finished *incoming* migration as "completed"
 * before the save starts: that answer (the baseline) is not the save's.
 */
async function watchMigration(uuid: string, t0: number): Promise<{ stop(): Promise<QemuPhase | undefined> }> {
  const base = (await qemuMonitorCommand(uuid, 'query-migrate').catch(() => ({}))) as MigrateInfo;
  let running = true;
  let seenActive = false;
  let start = Infinity;
  let done: { at: number; total: number; transferred: number } | undefined;
  let lastTransferred = 0;
  let lastActiveTotal = 0;
  const loop = (async () => {
    while (running) {
      try {
        const info = (await qemuMonitorCommand(uuid, 'query-migrate')) as MigrateInfo;
        const at = performance.now() - t0;
        const total = info['total-time'];
        if (info.status === 'setup' || info.status === 'active') seenActive = true;
        const ours = seenActive || (info.status === 'completed' && total !== base['total-time']);
        if (ours && typeof total === 'number' && (info.status === 'active' || info.status === 'completed')) {
          start = Math.min(start, at - total);
          lastTransferred = info.ram?.transferred ?? lastTransferred;
          if (info.status === 'active') lastActiveTotal = total;
          if (info.status === 'completed' && !done) done = { at, total, transferred: lastTransferred };
        }
      } catch {
        /* QEMU already gone */
      }
      await sleep(40);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (!done || !Number.isFinite(start)) return undefined;
      // QEMU 7.2 sometimes reports total-time 0 for a completed first migration: then the
      // completion is only known to lie before the poll that saw it.
      const end = done.total >= lastActiveTotal ? Math.min(done.at, start + done.total) : done.at;
      return { startMs: start, endMs: end, transferred: done.transferred };
    },
  };
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2]) as OpRequest;
  const conn = await Connect.open('qemu:///session');
  const out: OpResult = { ms: 0, hwmKiB: 0, rssBeforeKiB: statusKiB('VmRSS') };
  try {
    if (req.op === 'restore') {
      const t0 = performance.now();
      await conn.restoreParams({ file: req.file!, ...(req.params ?? {}) }, req.flags ?? 0);
      out.ms = performance.now() - t0;
    } else {
      const dom = await conn.lookupDomainByName(req.name!);
      const watch = req.op === 'save' ? await watchMigration(dom.uuid, performance.now()) : undefined;
      const t0 = performance.now();
      if (req.op === 'destroy') {
        await dom.destroy();
        out.ms = performance.now() - t0;
      } else {
        try {
          await dom.saveParams({ file: req.file!, ...(req.params ?? {}) }, req.flags ?? 0);
          out.ms = performance.now() - t0;
        } finally {
          out.qemu = await watch?.stop();
        }
      }
    }
  } catch (err) {
    out.error = (err as Error).message;
  } finally {
    await conn.close();
  }
  out.hwmKiB = statusKiB('VmHWM');
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

void main();
