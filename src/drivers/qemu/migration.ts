/** The QMP side of an outgoing or incoming migration: capabilities, parameters, progress, waiting. */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import type { QmpClient, QmpEvent } from './qmp';
import { UNLIMITED_BANDWIDTH } from './save-pipeline';

/** The `query-migrate` fields tsvirt reads. */
export interface MigrateInfo {
  status?: string;
  ram?: { total?: number; transferred?: number; remaining?: number; duplicate?: number; normal?: number; 'normal-bytes'?: number; mbps?: number; 'page-size'?: number; 'dirty-sync-count'?: number };
  'total-time'?: number;
  downtime?: number;
  'error-desc'?: string;
}

/**
 * Sets every capability QEMU knows to off except `events` (so MIGRATION events arrive) and the
 * pipeline's own, as libvirt resets them all before a save.
 */
export async function setMigrationCapabilities(qmp: QmpClient, known: readonly string[], on: readonly string[]): Promise<void> {
  const wanted = new Set(['events', ...on]);
  const list = known.map((capability) => ({ capability, state: wanted.has(capability) }));
  await qmp.execute('migrate-set-capabilities', { capabilities: list });
}

/** Unlimited bandwidth (QEMU 7.2 defaults to 128 MiB/s) plus pipeline-specific parameters. */
export async function setMigrationParameters(qmp: QmpClient, extra: Record<string, unknown>, maxBandwidth?: number): Promise<void> {
  // JSON cannot carry the bigint; the rounded double still prints as an integer below 2^63.
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': maxBandwidth ?? Number(UNLIMITED_BANDWIDTH), ...extra });
}

/** True for the MIGRATION states that end a migration. */
export function isFinalStatus(status: unknown): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/**
 * Waits for the migration to end and returns its final status. Registered before `migrate` runs
 * (QEMU may finish before its reply arrives). Rejects if the monitor dies (QEMU killed).
 */
export function waitMigrationEnd(qmp: QmpClient): Promise<string> {
  return qmp.waitForEvent('MIGRATION', (e: QmpEvent) => isFinalStatus(e.data.status)).then((e) => String(e.data.status));
}

/** Copies `query-migrate` progress into the job (bytes of RAM total / transferred). */
export class MigrationProgress {
  private reported = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The last answer, kept for the completed job's statistics. */
  last: MigrateInfo | null = null;

  constructor(
    private readonly qmp: QmpClient,
    private readonly job: ActiveJob,
  ) {}

  /** Asks QEMU once and updates the job. */
  async refresh(): Promise<void> {
    if (this.qmp.closed) return;
    const info = (await this.qmp.execute('query-migrate', undefined, { timeoutMs: 5000 })) as MigrateInfo;
    this.last = info;
    const ram = info.ram;
    if (!ram) return;
    if (typeof ram.total === 'number') this.job.setTotal(ram.total);
    const done = typeof ram.total === 'number' && typeof ram.remaining === 'number' ? ram.total - ram.remaining : (ram.transferred ?? 0);
    if (done > this.reported) {
      this.job.addProcessed(done - this.reported);
      this.reported = done;
    }
  }

  /** Polls every `ms` until stopped, so progress is there even for callers that only read the job. */
  start(ms = 200): void {
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, ms);
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** OPERATION_FAILED with QEMU's own reason for a failed migration. */
export function migrationFailed(what: string, info: MigrateInfo | null): VirError {
  const why = info?.['error-desc'] ? `: ${info['error-desc']}` : '';
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `${what} job: unexpectedly failed${why}`);
}
