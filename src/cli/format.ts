/**
 * virsh's display strings and number formats: domain states and reasons, job types and
 * operations, vshPrettyCapacity and vshTable's column layout.
 */
import { DomainState, JobOperation, JobType } from '../drivers/types';
import { TypedParamType, type TypedParameter } from '../util/typed-params';

const STATE_NAMES: Record<number, string> = {
  [DomainState.NOSTATE]: 'no state',
  [DomainState.RUNNING]: 'running',
  [DomainState.BLOCKED]: 'idle',
  [DomainState.PAUSED]: 'paused',
  [DomainState.SHUTDOWN]: 'in shutdown',
  [DomainState.SHUTOFF]: 'shut off',
  [DomainState.CRASHED]: 'crashed',
  [DomainState.PMSUSPENDED]: 'pmsuspended',
};

const REASON_NAMES: Record<number, readonly string[]> = {
  [DomainState.NOSTATE]: ['unknown'],
  [DomainState.RUNNING]: [
    'unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled',
    'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed',
  ],
  [DomainState.BLOCKED]: ['unknown'],
  [DomainState.PAUSED]: [
    'unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog', 'from snapshot',
    'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy', 'post-copy failed', 'api error',
  ],
  [DomainState.SHUTDOWN]: ['unknown', 'user'],
  [DomainState.SHUTOFF]: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  [DomainState.CRASHED]: ['unknown', 'panicked'],
  [DomainState.PMSUSPENDED]: ['unknown'],
};

/** virshDomainStateToString. */
export function stateName(state: number): string {
  return STATE_NAMES[state] ?? 'no state';
}

/** virshDomainStateReasonToString. */
export function reasonName(state: number, reason: number): string {
  return REASON_NAMES[state]?.[reason] ?? 'unknown';
}

const JOB_TYPE_NAMES: Record<number, string> = {
  [JobType.NONE]: 'None',
  [JobType.BOUNDED]: 'Bounded',
  [JobType.UNBOUNDED]: 'Unbounded',
  [JobType.COMPLETED]: 'Completed',
  [JobType.FAILED]: 'Failed',
  [JobType.CANCELLED]: 'Cancelled',
};

const JOB_OPERATION_NAMES: Record<number, string> = {
  [JobOperation.UNKNOWN]: 'Unknown',
  [JobOperation.START]: 'Start',
  [JobOperation.SAVE]: 'Save',
  [JobOperation.RESTORE]: 'Restore',
  [JobOperation.MIGRATION_IN]: 'Incoming migration',
  [JobOperation.MIGRATION_OUT]: 'Outgoing migration',
  [JobOperation.SNAPSHOT]: 'Snapshot',
  [JobOperation.SNAPSHOT_REVERT]: 'Snapshot revert',
  [JobOperation.DUMP]: 'Dump',
  [JobOperation.BACKUP]: 'Backup',
};

/** virshDomainJobToString. */
export function jobTypeName(type: number): string {
  return JOB_TYPE_NAMES[type] ?? 'unknown';
}

/** virshDomainJobOperationToString. */
export function jobOperationName(op: number): string {
  return JOB_OPERATION_NAMES[op] ?? 'unknown';
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** vshPrettyCapacity printed as virsh's "%-.3lf %s": 1048576 -> "1.000 MiB". */
export function prettyCapacity(bytes: number): string {
  let unit = 0;
  let v = bytes;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v.toFixed(3)} ${UNITS[unit]}`;
}

/** C's "%-<width>s": left-justified, never truncated. */
export function padRight(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

/**
 * vshTable layout: one leading blank, columns separated by three blanks, every column but the
 * last padded to its widest cell, and under the header a dash line as wide as the columns plus
 * three per column. Without a header (quiet mode) widths come from the rows alone.
 */
export function formatTable(header: readonly string[] | null, rows: readonly (readonly string[])[]): string {
  const all = header ? [header, ...rows] : [...rows];
  const ncols = header ? header.length : (rows[0]?.length ?? 0);
  const widths = Array.from({ length: ncols }, (_, c) => Math.max(0, ...all.map((r) => r[c]?.length ?? 0)));
  const line = (r: readonly string[]): string =>
    ' ' + r.map((cell, c) => (c === r.length - 1 ? cell : padRight(cell, widths[c]))).join('   ') + '\n';
  let out = '';
  if (header) {
    out += line(header);
    out += '-'.repeat(widths.reduce((a, b) => a + b, 0) + 3 * ncols) + '\n';
  }
  for (const r of rows) out += line(r);
  return out;
}

/** "major.minor.release" from libvirt's packed version number. */
export function versionString(v: number): string {
  const major = Math.floor(v / 1_000_000);
  const minor = Math.floor((v % 1_000_000) / 1000);
  return `${major}.${minor}.${v % 1000}`;
}

/** virTypedParameterToString: how virsh prints one typed parameter's value (booleans as 0/1). */
export function typedParamText(p: TypedParameter): string {
  if (p.type === TypedParamType.BOOLEAN) return p.value ? '1' : '0';
  if (p.type === TypedParamType.DOUBLE) return printfG(Number(p.value));
  return String(p.value);
}

/** C's `%g`: 6 significant digits, trailing zeros dropped, exponent form outside 1e-4..1e6. */
function printfG(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential(5).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, 5 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}
