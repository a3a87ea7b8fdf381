/**
 * virsh's --verbose job progress (virshWatchJob): while a save-type call runs, the domain's job
 * info is polled every 500 ms and the percentage of data processed is shown on stderr. On a
 * terminal it is one redrawn bar; otherwise one `Save: [ 41 %]` line per change, so logs and
 * tests can read it.
 */
import { JobType } from '../drivers/types';
import type { Domain } from '../public/domain';
import type { CommandContext } from './types';

/** Poll period of virsh's job watcher. */
export const PROGRESS_INTERVAL_MS = 500;

const BAR_WIDTH = 20;

/** The text of one progress update. */
export function progressText(label: string, percent: number, tty: boolean): string {
  const pct = String(percent).padStart(3);
  if (!tty) return `${label}: [${pct} %]`;
  const filled = Math.round((percent * BAR_WIDTH) / 100);
  return `${label}: [${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${pct} %`;
}

/** Percent done from processed / total, held below 100 until the job has really finished. */
export function jobPercent(processed: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(99, Math.max(0, Math.floor((processed * 100) / total)));
}

/**
 * Awaits `op`, showing progress for `dom`'s job when `verbose`. The final `[100 %]` is only
 * shown when `op` succeeded. While it runs, Ctrl-C aborts the job (virDomainAbortJob), so `op`
 * fails with the driver's "operation aborted" and the shell goes on, as with virsh.
 */
export async function watchJob<T>(ctx: CommandContext, dom: Domain, label: string, verbose: boolean, op: Promise<T>): Promise<T> {
  const release = ctx.onInterrupt(() => {
    dom.abortJob().catch(() => undefined);
  });
  try {
    return await (verbose ? watchProgress(ctx, dom, label, op) : op);
  } finally {
    release();
  }
}

async function watchProgress<T>(ctx: CommandContext, dom: Domain, label: string, op: Promise<T>): Promise<T> {
  const out = ctx.progressStream;
  const tty = !!out.isTTY;
  let last = -1;
  const show = (pct: number): void => {
    if (pct === last) return;
    last = pct;
    out.write(tty ? `\r${progressText(label, pct, true)}` : `${progressText(label, pct, false)}\n`);
  };

  let finished = false;
  const settled = op.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  const poller = (async () => {
    while (!finished) {
      await Promise.race([settled, delay(PROGRESS_INTERVAL_MS)]);
      if (finished) break;
      try {
        const info = await dom.getJobInfo();
        if ((info.type === JobType.BOUNDED || info.type === JobType.UNBOUNDED) && info.dataTotal > 0 && !finished) {
          show(jobPercent(info.dataProcessed, info.dataTotal));
        }
      } catch {
        // A driver without job info just shows no intermediate progress, as virsh does.
      }
    }
  })();

  try {
    const result = await op;
    await poller;
    show(100);
    if (tty && ctx.quiet) out.write('\n');
    return result;
  } catch (err) {
    // A redrawn bar has no newline of its own: end its line before the error is printed.
    if (tty && last >= 0) out.write('\n');
    throw err;
  } finally {
    finished = true;
    await poller;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref?.();
  });
}
