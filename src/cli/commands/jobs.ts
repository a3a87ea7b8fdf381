/**
 * Job commands: domjobinfo (virsh's layout, from virDomainGetJobStats with a fallback to
 * virDomainGetJobInfo on drivers without stats) and domjobabort.
 */
import { JobType, type JobInfo } from '../../drivers/types';
import type { Domain } from '../../public/domain';
import { JobStatsFlags } from '../../public/flags';
import { ErrorCode } from '../../util/error-codes';
import type { TypedParameter } from '../../util/typed-params';
import { isVirError } from '../../util/vir-error';
import { jobOperationName, jobTypeName, padRight, prettyCapacity } from '../format';
import { optBool, type CommandContext, type CommandDef } from '../types';
import { DOMAIN_OPT } from './common';

/** One job's figures, whichever API they came from. */
export interface JobView {
  type: JobType;
  /** Typed statistics by field (empty for the JobInfo fallback). */
  stats: Map<string, number | string | boolean>;
  raw: TypedParameter[];
}

const INFO_FIELDS: ReadonlyArray<readonly [keyof JobInfo, string]> = [
  ['timeElapsed', 'time_elapsed'],
  ['timeRemaining', 'time_remaining'],
  ['dataTotal', 'data_total'],
  ['dataProcessed', 'data_processed'],
  ['dataRemaining', 'data_remaining'],
  ['memTotal', 'memory_total'],
  ['memProcessed', 'memory_processed'],
  ['memRemaining', 'memory_remaining'],
  ['fileTotal', 'disk_total'],
  ['fileProcessed', 'disk_processed'],
  ['fileRemaining', 'disk_remaining'],
];

function viewFromParams(type: JobType, params: TypedParameter[]): JobView {
  const stats = new Map<string, number | string | boolean>();
  for (const p of params) {
    if (!stats.has(p.field)) stats.set(p.field, typeof p.value === 'bigint' ? Number(p.value) : p.value);
  }
  return { type, stats, raw: params };
}

function viewFromInfo(info: JobInfo): JobView {
  const stats = new Map<string, number | string | boolean>();
  for (const [k, field] of INFO_FIELDS) stats.set(field, info[k] as number);
  return { type: info.type, stats, raw: [] };
}

/** virsh's fallback: stats first, JobInfo when the driver has no stats and no flag was asked. */
async function fetchJob(ctx: CommandContext, dom: Domain, flags: number): Promise<JobView> {
  try {
    const st = await dom.getJobStats(flags);
    return viewFromParams(st.type, st.params);
  } catch (err) {
    if (!isVirError(err) || err.code !== ErrorCode.NO_SUPPORT) throw err;
    if (flags !== 0) {
      ctx.error('Optional flags or --rawstats are not supported by the daemon');
      throw err;
    }
    return viewFromInfo(await dom.getJobInfo());
  }
}

/** The text virsh prints for a job. */
export function formatJob(job: JobView, completed: boolean): string {
  const num = (f: string): number | undefined => {
    const v = job.stats.get(f);
    return typeof v === 'number' ? v : undefined;
  };
  let out = '';
  const line = (label: string, value: string): void => {
    out += `${padRight(label, 17)} ${value}\n`;
  };
  const ms = (label: string, f: string): void => {
    const v = num(f);
    if (v !== undefined) line(label, `${padRight(String(v), 12)} ms`);
  };
  const bytes = (label: string, f: string): void => line(label, prettyCapacity(num(f) ?? 0));
  const block = (prefix: string, base: string): void => {
    if (!num(`${base}_total`) && !num(`${base}_remaining`) && !num(`${base}_processed`)) return;
    bytes(`${prefix} processed:`, `${base}_processed`);
    bytes(`${prefix} remaining:`, `${base}_remaining`);
    bytes(`${prefix} total:`, `${base}_total`);
  };

  line('Job type:', padRight(jobTypeName(job.type), 12));
  if (job.type === JobType.NONE) return out;
  const op = num('operation');
  if (op !== undefined) line('Operation:', padRight(jobOperationName(op), 12));
  ms('Time elapsed:', 'time_elapsed');
  if (job.type === JobType.BOUNDED) ms('Time remaining:', 'time_remaining');
  block('Data', 'data');
  for (const [k, v] of channelBytes(job)) line(`Channel ${k} processed:`, prettyCapacity(v));
  block('Memory', 'memory');
  const bps = num('memory_bps');
  if (bps) line('Memory bandwidth:', `${prettyCapacity(bps)}/s`);
  const constant = num('memory_constant');
  if (constant !== undefined) line('Constant pages:', padRight(String(constant), 12));
  const normal = num('memory_normal');
  if (normal !== undefined) line('Normal pages:', padRight(String(normal), 12));
  if (num('memory_normal_bytes') !== undefined) bytes('Normal data:', 'memory_normal_bytes');
  block('File', 'disk');
  ms(completed ? 'Total downtime:' : 'Expected downtime:', 'downtime');
  ms('Setup time:', 'setup_time');
  const err = job.stats.get('errmsg');
  if (typeof err === 'string' && err.length > 0) line('Error message:', err);
  return out;
}

/** `parallel.channel.<k>.data_processed` statistics, by channel number. */
function channelBytes(job: JobView): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [field, v] of job.stats) {
    const m = /^parallel\.channel\.(\d+)\.data_processed$/.exec(field);
    if (m && typeof v === 'number') out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

const domjobinfo: CommandDef = {
  name: 'domjobinfo',
  group: 'domain',
  help: 'domain job information',
  desc: 'Returns information about jobs running on a domain.',
  opts: [
    DOMAIN_OPT,
    { name: 'completed', type: 'bool', help: 'return statistics of a recently completed job' },
    { name: 'keep-completed', type: 'bool', help: "don't destroy statistics of a recently completed job when reading" },
    { name: 'rawstats', type: 'bool', help: 'print the raw data returned by libvirt' },
  ],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    let flags = 0;
    if (optBool(cmd, 'completed')) flags |= JobStatsFlags.COMPLETED;
    if (optBool(cmd, 'keep-completed')) flags |= JobStatsFlags.KEEP_COMPLETED;
    const raw = optBool(cmd, 'rawstats');
    const job = await fetchJob(ctx, dom, flags);
    if (raw) {
      ctx.print(`Job type: ${job.type}\n\n`);
      for (const p of job.raw) ctx.print(`${p.field}: ${typeof p.value === 'boolean' ? (p.value ? 'yes' : 'no') : String(p.value)}\n`);
      return;
    }
    ctx.print(formatJob(job, (flags & JobStatsFlags.COMPLETED) !== 0));
  },
};

const domjobabort: CommandDef = {
  name: 'domjobabort',
  group: 'domain',
  help: 'abort active domain job',
  desc: 'Aborts the currently running domain job',
  opts: [DOMAIN_OPT],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    await dom.abortJob();
  },
};

/** The job commands. */
export const jobCommands: readonly CommandDef[] = [domjobinfo, domjobabort];
