/**
 * The one job mechanism all drivers share: at most one async job per domain, progress counters
 * (with per-channel bytes for parallel saves), abort through an AbortSignal, and the statistics
 * of the last finished job kept for `domjobinfo --completed`.
 */
import { ErrorCode, type ErrorDomain } from '../../util/error-codes';
import { TypedParamType, type TypedParameter } from '../../util/typed-params';
import { VirError } from '../../util/vir-error';
import { JobType, type DomainRef, type JobInfo, type JobOperation, type JobStats } from '../types';

/** VIR_DOMAIN_JOB_STATS_COMPLETED: report the last finished job. */
export const VIR_DOMAIN_JOB_STATS_COMPLETED = 1 << 0;
/** VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED: do not clear it after reporting. */
export const VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED = 1 << 1;

/** Options of {@link DomainJobs.begin}. */
export interface BeginJobOptions {
  /** Name used in messages: 'domain save', 'domain restore'. */
  name: string;
  dataTotal?: number;
  /** Number of parallel channels (per-channel progress is reported when > 1). */
  channels?: number;
}

interface JobRecord {
  readonly op: JobOperation;
  readonly name: string;
  readonly started: number;
  ended?: number;
  type: JobType;
  dataTotal: number;
  dataProcessed: number;
  channels: number;
  channelProcessed: number[];
  errmsg?: string;
}

function zeroInfo(type: JobType): JobInfo {
  return {
    type,
    timeElapsed: 0,
    timeRemaining: 0,
    dataTotal: 0,
    dataProcessed: 0,
    dataRemaining: 0,
    memTotal: 0,
    memProcessed: 0,
    memRemaining: 0,
    fileTotal: 0,
    fileProcessed: 0,
    fileRemaining: 0,
  };
}

/** A running job: what the worker holds to report progress and to learn about aborts. */
export class ActiveJob {
  private readonly controller = new AbortController();
  private finished = false;

  /** @internal created by DomainJobs.begin. */
  constructor(
    private readonly owner: DomainJobs,
    readonly domain: DomainRef,
    /** @internal */ readonly record: JobRecord,
  ) {}

  /** Aborted when a client calls abort on the domain. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The job's name ('domain save'). */
  get name(): string {
    return this.record.name;
  }

  /** Sets the number of bytes the job will move. */
  setTotal(n: number): void {
    this.record.dataTotal = n;
  }

  /** Sets the number of channels (per-channel counters are reset). */
  setChannels(n: number): void {
    this.record.channels = n;
    this.record.channelProcessed = new Array<number>(n).fill(0);
  }

  /** Counts bytes moved, optionally by channel `channel` (1-based). */
  addProcessed(n: number, channel?: number): void {
    this.record.dataProcessed += n;
    if (channel !== undefined && channel >= 1 && channel <= this.record.channels) {
      this.record.channelProcessed[channel - 1] += n;
    }
  }

  /**
   * Counts bytes one channel moved without adding them to the job's total again: for drivers
   * whose overall progress comes from elsewhere (QEMU's query-migrate) while the channel split is
   * seen by tsvirt itself.
   */
  addChannelBytes(channel: number, n: number): void {
    if (channel >= 1 && channel <= this.record.channels) this.record.channelProcessed[channel - 1] += n;
  }

  /** @internal */
  requestAbort(): void {
    this.controller.abort();
  }

  /** True once a client asked to abort. */
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** The error a worker raises when the client aborted. */
  abortError(): VirError {
    return VirError.report(
      ErrorCode.OPERATION_ABORTED,
      this.owner.errorDomain,
      `job '${this.record.name}' canceled by client`,
    );
  }

  /** Throws OPERATION_ABORTED "operation aborted: job 'NAME' canceled by client" after an abort. */
  throwIfAborted(): void {
    if (this.aborted) throw this.abortError();
  }

  /** The statistics of the ended job, as virDomainGetJobStats with COMPLETED reports them. */
  completedParams(): TypedParameter[] {
    return recordParams(this.record, this.record.ended ?? Date.now(), true);
  }

  /** Ends the job successfully. */
  complete(): void {
    this.finish(JobType.COMPLETED);
  }

  /** Ends the job as failed, or cancelled when it was aborted. */
  fail(err: unknown): void {
    const aborted = this.aborted || (err instanceof VirError && err.code === ErrorCode.OPERATION_ABORTED);
    this.record.errmsg = err instanceof Error ? err.message : String(err);
    this.finish(aborted ? JobType.CANCELLED : JobType.FAILED);
  }

  private finish(type: JobType): void {
    if (this.finished) return;
    this.finished = true;
    this.record.type = type;
    this.record.ended = Date.now();
    this.owner.finished(this);
  }
}

/** The jobs of one driver state. */
export class DomainJobs {
  private readonly active = new Map<string, ActiveJob>();
  private readonly completed = new Map<string, JobRecord>();

  /** @param errorDomain the driver's error domain (ErrorDomain.TEST, ErrorDomain.QEMU...). */
  constructor(readonly errorDomain: ErrorDomain) {}

  /**
   * Starts a job. A second job on the same domain raises OPERATION_INVALID "another job (NAME)
   * is already active on domain 'X'".
   */
  begin(dom: DomainRef, op: JobOperation, opts: BeginJobOptions): ActiveJob {
    const running = this.active.get(dom.uuid);
    if (running) {
      throw VirError.report(
        ErrorCode.OPERATION_INVALID,
        this.errorDomain,
        `another job (${running.name}) is already active on domain '${dom.name}'`,
      );
    }
    const channels = opts.channels ?? 1;
    const job = new ActiveJob(this, dom, {
      op,
      name: opts.name,
      started: Date.now(),
      type: JobType.UNBOUNDED,
      dataTotal: opts.dataTotal ?? 0,
      dataProcessed: 0,
      channels,
      channelProcessed: new Array<number>(channels).fill(0),
    });
    this.active.set(dom.uuid, job);
    return job;
  }

  /** True when the domain has a running job. */
  isActive(dom: Pick<DomainRef, 'uuid'>): boolean {
    return this.active.has(dom.uuid);
  }

  /** @internal called by ActiveJob when it ends. */
  finished(job: ActiveJob): void {
    if (this.active.get(job.domain.uuid) === job) this.active.delete(job.domain.uuid);
    this.completed.set(job.domain.uuid, job.record);
  }

  /** virDomainGetJobInfo: the running job, or type NONE with zeros. */
  info(dom: DomainRef): JobInfo {
    const job = this.active.get(dom.uuid);
    if (!job) return zeroInfo(JobType.NONE);
    const r = job.record;
    const remaining = Math.max(0, r.dataTotal - r.dataProcessed);
    return {
      ...zeroInfo(r.type),
      timeElapsed: Date.now() - r.started,
      dataTotal: r.dataTotal,
      dataProcessed: r.dataProcessed,
      dataRemaining: remaining,
      memTotal: r.dataTotal,
      memProcessed: r.dataProcessed,
      memRemaining: remaining,
    };
  }

  /**
   * virDomainGetJobStats. With COMPLETED: the last finished job (COMPLETED / FAILED / CANCELLED),
   * cleared after reading unless KEEP_COMPLETED; else the running job. NONE with no params when
   * there is nothing to report.
   */
  stats(dom: DomainRef, flags: number): JobStats {
    if (flags & VIR_DOMAIN_JOB_STATS_COMPLETED) {
      const r = this.completed.get(dom.uuid);
      if (!r) return { type: JobType.NONE, params: [] };
      if (!(flags & VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)) this.completed.delete(dom.uuid);
      return { type: r.type, params: recordParams(r, r.ended ?? Date.now(), true) };
    }
    const job = this.active.get(dom.uuid);
    if (!job) return { type: JobType.NONE, params: [] };
    return { type: job.record.type, params: recordParams(job.record, Date.now(), false) };
  }

  /** virDomainAbortJob: no job -> OPERATION_INVALID "no job is active on the domain". */
  abort(dom: DomainRef): void {
    const job = this.active.get(dom.uuid);
    if (!job) {
      throw VirError.report(ErrorCode.OPERATION_INVALID, this.errorDomain, 'no job is active on the domain');
    }
    job.requestAbort();
  }
}

function ull(field: string, v: number): TypedParameter {
  return { field, type: TypedParamType.ULLONG, value: BigInt(Math.max(0, Math.floor(v))) };
}

function recordParams(r: JobRecord, now: number, done: boolean): TypedParameter[] {
  const elapsed = now - r.started;
  const remaining = Math.max(0, r.dataTotal - r.dataProcessed);
  const bps = elapsed > 0 ? (r.dataProcessed * 1000) / elapsed : 0;
  const out: TypedParameter[] = [
    { field: 'operation', type: TypedParamType.INT, value: r.op },
    ull('time_elapsed', elapsed),
    ull('data_total', r.dataTotal),
    ull('data_processed', r.dataProcessed),
    ull('data_remaining', remaining),
    ull('memory_total', r.dataTotal),
    ull('memory_processed', r.dataProcessed),
    ull('memory_remaining', remaining),
    ull('memory_bps', bps),
  ];
  if (r.channels > 1) {
    out.push({ field: 'parallel.channels', type: TypedParamType.INT, value: r.channels });
    r.channelProcessed.forEach((n, i) => out.push(ull(`parallel.channel.${i + 1}.data_processed`, n)));
  }
  if (done) {
    out.push({ field: 'success', type: TypedParamType.BOOLEAN, value: r.type === JobType.COMPLETED });
    if (r.type !== JobType.COMPLETED && r.errmsg) {
      out.push({ field: 'errmsg', type: TypedParamType.STRING, value: r.errmsg });
    }
  }
  return out;
}
