/**
 * Collects the samples of the save benchmarks and renders them: medians per row, the rate next
 * to the dd / cp yardstick measured in the same run, per-operation peak RSS, and where a save's
 * wall time went (before QEMU streamed, QEMU streaming, after QEMU said completed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { markdownTable } from './machine';
import { fix, mbps, median } from './qemu-bench-host';
import type { OpResult } from './qemu-bench-op';

/** One timed sample. */
export interface Sample {
  seconds: number;
  /** Bytes moved (image bytes for saves and restores, dd's bytes for yardsticks). */
  bytes: number;
  /** Peak RSS of the tsvirt process that ran it. */
  hwmKiB?: number;
  op?: OpResult;
}

/** A row: a label, its yardstick row (for the ratio) and its samples. */
interface Row {
  group: string;
  label: string;
  vs?: string;
  ramBytes?: number;
  samples: Sample[];
}

/** Rows in insertion order, grouped (e.g. by guest size). */
export class Results {
  private readonly rows: Row[] = [];

  private row(group: string, label: string): Row {
    let r = this.rows.find((x) => x.group === group && x.label === label);
    if (!r) {
      r = { group, label, samples: [] };
      this.rows.push(r);
    }
    return r;
  }

  /** Declares a row up front (fixes the order and its yardstick). */
  declare(group: string, label: string, vs?: string, ramBytes?: number): void {
    const r = this.row(group, label);
    r.vs = vs;
    r.ramBytes = ramBytes;
  }

  /** Adds a sample of a tsvirt operation. */
  addOp(group: string, label: string, op: OpResult, bytes: number): void {
    this.row(group, label).samples.push({ seconds: op.ms / 1000, bytes, hwmKiB: op.hwmKiB, op });
  }

  /** Adds a sample of a yardstick (dd, cp). */
  add(group: string, label: string, seconds: number, bytes: number): void {
    this.row(group, label).samples.push({ seconds, bytes });
  }

  /** Median seconds, median bytes and their rate of a row, for derived tables (targets). */
  summary(group: string, label: string): { s: number; bytes: number; rate: number; hwm?: number } | undefined {
    const r = this.rows.find((x) => x.group === group && x.label === label);
    return r ? this.stats(r) : undefined;
  }

  private stats(r: Row): { s: number; bytes: number; rate: number; hwm?: number } | undefined {
    if (r.samples.length === 0) return undefined;
    const s = median(r.samples.map((x) => x.seconds));
    const bytes = median(r.samples.map((x) => x.bytes));
    const hwms = r.samples.map((x) => x.hwmKiB).filter((x): x is number => x !== undefined);
    return { s, bytes, rate: mbps(bytes, s), hwm: hwms.length ? Math.max(...hwms) / 1024 : undefined };
  }

  /** The main table: wall time, MB/s, ratio to the yardstick, peak RSS. */
  table(groupTitle: string, withRamRate = false): string {
    const header = [groupTitle, 'operation', 'MiB moved', 'wall s', 'MB/s', ...(withRamRate ? ['guest RAM GiB/s'] : []), 'ratio', 'vs', 'peak RSS MiB', 'runs'];
    const rows = this.rows
      .filter((r) => r.samples.length > 0)
      .map((r) => {
        const st = this.stats(r)!;
        const ref = r.vs ? this.rows.find((x) => x.group === r.group && x.label === r.vs) : undefined;
        const refSt = ref ? this.stats(ref) : undefined;
        const ratio = refSt ? st.rate / refSt.rate : undefined;
        const ram = r.ramBytes ? r.ramBytes / 2 ** 30 / st.s : undefined;
        return [
          r.group,
          r.label,
          fix(st.bytes / 2 ** 20, 0),
          fix(st.s, 2),
          fix(st.rate, 0),
          ...(withRamRate ? [fix(ram, 2)] : []),
          ratio === undefined ? '-' : `${(ratio * 100).toFixed(0)}%`,
          r.vs ?? '-',
          fix(st.hwm, 0),
          r.samples.map((x) => x.seconds.toFixed(2)).join(' '),
        ];
      });
    return markdownTable(header, rows);
  }

  /** Where each save's time went, from QEMU's own `total-time` polled during the save. */
  breakdown(groupTitle: string): string {
    const header = [groupTitle, 'save', 'wall s', 'before QEMU streams s', 'QEMU streaming s', 'QEMU MB/s', 'after QEMU completed s'];
    const rows: string[][] = [];
    for (const r of this.rows) {
      const phases = r.samples.map((x) => x.op?.qemu).filter((x) => x !== undefined);
      if (phases.length === 0) continue;
      const walls = r.samples.filter((x) => x.op?.qemu).map((x) => x.seconds);
      const before = median(phases.map((p) => p!.startMs / 1000));
      const stream = median(phases.map((p) => (p!.endMs - p!.startMs) / 1000));
      const rate = median(phases.map((p) => mbps(p!.transferred, Math.max(1e-3, (p!.endMs - p!.startMs) / 1000))));
      const wall = median(walls);
      const after = median(r.samples.filter((x) => x.op?.qemu).map((x) => x.seconds - x.op!.qemu!.endMs / 1000));
      rows.push([r.group, r.label, fix(wall, 2), fix(before, 2), fix(stream, 2), fix(rate, 0), fix(after, 2)]);
    }
    return markdownTable(header, rows);
  }
}

/**
 * Prints a benchmark's tables and writes them, with the machine's description and the notes,
 * to bench/results/NAME.md (the same layout for every QEMU benchmark).
 */
export function writeReport(name: string, title: string, machine: string, rounds: number, res: Results, notes: string, wide = false): void {
  const table = res.table('guest', wide);
  const breakdown = res.breakdown('guest');
  console.log(`\n${table}\n\nWhere a save's time goes (medians):\n${breakdown}`);
  const md = [
    `# ${title}`,
    '',
    `Generated by \`npm run bench\` (\`dist/bench/${name}.js\`); do not edit by hand.`,
    '',
    '## Machine',
    machine,
    '',
    `## Results (medians of ${rounds} rounds; MB = 10^6 bytes)`,
    table,
    '',
    "## Where a save's time goes (medians)",
    breakdown,
    notes,
  ].join('\n');
  const out = path.join(__dirname, '..', '..', 'bench', 'results', `${name}.md`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, md);
  console.log(`\nwrote ${out}`);
}
