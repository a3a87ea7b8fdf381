/**
 * The derived tables of the libvirt11-save bench: every tsvirt operation as a ratio of libvirt
 * 11.3's best in the same run, and issue 11's targets stated met / not met from the run's
 * medians (nothing is judged from other runs).
 */
import { markdownTable } from './machine';
import { fix } from './qemu-bench-host';
import type { Results } from './qemu-bench-report';

/** The row labels of one guest group, by role. */
export interface GroupRows {
  group: string;
  lvSaves: string[];
  lvRestores: string[];
  lvSparseSaves: string[];
  lvSparseRestores: string[];
  tsSaves: string[];
  tsRestores: string[];
  tsInstant: string[];
  /** The parallel O_DIRECT yardstick row. */
  ddParallel: string;
}

interface Best {
  label: string;
  s: number;
  rate: number;
}

/** The fastest (lowest median wall time) of `labels` that have samples. */
function best(res: Results, group: string, labels: string[]): Best | undefined {
  let out: Best | undefined;
  for (const label of labels) {
    const st = res.summary(group, label);
    if (st && (!out || st.s < out.s)) out = { label, s: st.s, rate: st.rate };
  }
  return out;
}

const pct = (x: number): string => `${x.toFixed(2)}x`;
const verdict = (ok: boolean): string => (ok ? 'met' : 'not met');

/** tsvirt's saves and restores against libvirt 11.3's best of the same group. */
function ratioTable(res: Results, groups: GroupRows[]): string {
  const rows: string[][] = [];
  for (const g of groups) {
    const lvSave = best(res, g.group, g.lvSaves);
    const lvRestore = best(res, g.group, g.lvRestores);
    for (const [labels, ref] of [[g.tsSaves, lvSave], [g.tsRestores, lvRestore], [g.tsInstant, lvRestore]] as const) {
      for (const label of labels) {
        const st = res.summary(g.group, label);
        if (!st || !ref) continue;
        rows.push([g.group, label, fix(st.s, 2), ref.label, fix(ref.s, 2), pct(st.s / ref.s)]);
      }
    }
  }
  return markdownTable(['guest', 'tsvirt operation', 'wall s', "libvirt 11.3's best (same kind)", 'its wall s', 'time ratio'], rows);
}

/** One line per target of issue 11 item 4, judged on this run's medians. */
function targetTable(res: Results, groups: GroupRows[]): string {
  const rows: string[][] = [];
  const absent = (what: string, group: string): void => void rows.push([what, `no ${group} samples in this run`, '-', 'not measured']);
  const rand = groups.find((g) => g.group === '4 GiB random');
  if (rand) {
    const lvS = best(res, rand.group, rand.lvSaves);
    const tsS = best(res, rand.group, rand.tsSaves);
    const dd = res.summary(rand.group, rand.ddParallel);
    const lvR = best(res, rand.group, rand.lvRestores);
    const tsR = best(res, rand.group, rand.tsRestores);
    if (lvS && tsS) rows.push(["4 GiB random: tsvirt's best save vs libvirt 11.3's best save (wall)", `${tsS.label} ${fix(tsS.s, 2)} s / ${lvS.label} ${fix(lvS.s, 2)} s = ${pct(tsS.s / lvS.s)}`, '<= 1.0x', verdict(tsS.s <= lvS.s)]);
    if (tsS && dd) rows.push([`4 GiB random: tsvirt's best save rate vs ${rand.ddParallel}`, `${fix(tsS.rate, 0)} / ${fix(dd.rate, 0)} MB/s = ${pct(tsS.rate / dd.rate)}`, '>= 0.9x', verdict(tsS.rate >= 0.9 * dd.rate)]);
    if (lvR && tsR) rows.push(["4 GiB random: tsvirt's best full restore vs libvirt 11.3's best restore", `${tsR.label} ${fix(tsR.s, 2)} s / ${lvR.label} ${fix(lvR.s, 2)} s = ${pct(tsR.s / lvR.s)}`, '<= 0.7x', verdict(tsR.s <= 0.7 * lvR.s)]);
  } else absent('4 GiB random targets', '4 GiB random');
  for (const g of groups) {
    const inst = best(res, g.group, g.tsInstant);
    if (inst) rows.push([`${g.group}: instant restore ready (QEMU 10)`, `${fix(inst.s, 2)} s`, '<= 0.3 s', verdict(inst.s <= 0.3)]);
  }
  rows.push(['instant restore on QEMU 7.2', 'not in this run (QEMU 10 only; see parallel-save.md)', '<= 0.3 s', 'not measured']);
  const zero = groups.find((g) => g.group === '4 GiB mostly zero');
  if (zero) {
    for (const [what, lv, ts] of [['save', zero.lvSparseSaves, zero.tsSaves], ['restore', zero.lvSparseRestores, zero.tsRestores]] as const) {
      const l = best(res, zero.group, [...lv]);
      const t = best(res, zero.group, [...ts]);
      if (l && t) rows.push([`4 GiB mostly zero: tsvirt's best ${what} vs libvirt 11.3's best sparse ${what}`, `${t.label} ${fix(t.s, 2)} s / ${l.label} ${fix(l.s, 2)} s = ${pct(t.s / l.s)}`, '<= 0.5x', verdict(t.s <= 0.5 * l.s)]);
    }
  } else absent('4 GiB mostly zero targets', '4 GiB mostly zero');
  return markdownTable(['target', 'this run (medians)', 'target', 'verdict'], rows);
}

/** The markdown of the derived tables, for writeReport's notes. */
export function targetsReport(res: Results, groups: GroupRows[]): string {
  const out = [
    '',
    '## Targets (issue 11 item 4; from this run only)',
    targetTable(res, groups),
    '',
    "## tsvirt against libvirt 11.3's best of the same run (time ratio < 1: tsvirt faster)",
    ratioTable(res, groups),
  ].join('\n');
  console.log(out);
  return out;
}
