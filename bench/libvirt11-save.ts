/**
 * tsvirt against libvirt 11.3 on QEMU 10 (issue 11, item 4), in one run with the rounds
 * interleaved: per guest and round, each libvirt 11.3 save / restore is followed by one of
 * tsvirt's, then the dd yardsticks (one `dd conv=fdatasync`, 1, 2 and 4 concurrent
 * `dd oflag=direct` writers of the same bytes, then as many `dd iflag=direct` readers of them
 * from a cold cache). 1 and 4 GiB guests (BENCH_SIZES_GIB), random and
 * mostly-zero RAM, shared memfd RAM on both sides (tsvirt's region and instant modes need it;
 * libvirt runs the same XML, the same QEMU 10 binary named in `<emulator>`). Prints the tables
 * and the targets of the issue and writes bench/results/libvirt11-save.md.
 *
 * Run: npm run build && node dist/bench/libvirt11-save.js (run.ts sets TSVIRT_QEMU)
 * Env: BENCH_SIZES_GIB (default 1,4), BENCH_ROUNDS (default 1), BENCH_KINDS (random,zero).
 */
import fs from 'node:fs';
import path from 'node:path';
import { machineDescription } from './machine';
import { GIB, MIB, benchEnv, createFilledGuest, removeGuest, runOp, teardownBench } from './qemu-bench-guest';
import { ddReadParallelDirect, ddWrite, ddWriteParallelDirect, dropCaches, imageBytes, makeRandomSource, removeImage, rounds, sizesGiB, syncDisks } from './qemu-bench-host';
import { Results, writeReport } from './qemu-bench-report';
import { createLibvirtGuest, libvirtDestroy, libvirtRestore, libvirtSave, removeLibvirtGuest, startLibvirt11, type VirshOp } from './libvirt11-side';
import { targetsReport, type GroupRows } from './libvirt11-targets';
import { SaveRestoreFlags } from '../src';
import { qemu10Binary } from '../test/helpers/qemu10';
import type { QemuLibvirtd } from '../test/helpers/libvirtd-qemu';

const ROUNDS = rounds(1);

/** Guest kinds to run, from BENCH_KINDS ("random", "zero" or both, comma-separated; default both). */
function kinds(): boolean[] {
  const want = (process.env.BENCH_KINDS ?? 'random,zero').split(',').map((s) => s.trim());
  return [true, false].filter((random) => want.includes(random ? 'random' : 'zero'));
}

/** A libvirt 11.3 layout: virsh options for save and for restore. */
interface LvMode {
  label: string;
  save: string[];
  restore: string[];
  sparse: boolean;
}

const sparseLv = (n: number, bypass: boolean): LvMode => {
  const ch = n > 1 ? ['--parallel-channels', String(n)] : [];
  const by = bypass ? ['--bypass-cache'] : [];
  return { label: `libvirt 11.3 sparse, ${n} channel${n > 1 ? 's' : ''}${bypass ? ', bypass-cache' : ''}`, save: ['--image-format', 'sparse', ...ch, ...by], restore: [...ch, ...by], sparse: true };
};

const LV_MODES: LvMode[] = [
  { label: 'libvirt 11.3 raw', save: [], restore: [], sparse: false },
  { label: 'libvirt 11.3 raw, bypass-cache', save: ['--bypass-cache'], restore: ['--bypass-cache'], sparse: false },
  ...[1, 2, 4].flatMap((n) => [sparseLv(n, false), sparseLv(n, true)]),
];

/** A tsvirt layout: typed parameters and flags of saveParams; `instant` adds an instant restore. */
interface TsMode {
  label: string;
  params: Record<string, string | number>;
  flags?: number;
  instant?: boolean;
}

const TS_MODES: TsMode[] = [
  { label: 'tsvirt single stream', params: {} },
  { label: 'tsvirt sparse, 4 channels', params: { image_format: 'sparse', 'parallel.channels': 4 } },
  { label: 'tsvirt sparse, 4 channels, bypass-cache', params: { image_format: 'sparse', 'parallel.channels': 4 }, flags: SaveRestoreFlags.BYPASS_CACHE },
  { label: 'tsvirt files, 4 channels', params: { 'parallel.channels': 4, 'parallel.mode': 'files', 'parallel.compression': 'none' } },
  { label: 'tsvirt region, 4 workers', params: { 'parallel.channels': 4, 'parallel.mode': 'region' }, instant: true },
];

/** The concurrent O_DIRECT writer counts measured (N = the channel counts above). */
const DD_WRITERS = [1, 2, 4];
const DD_SYNC = 'dd conv=fdatasync';
const ddDirect = (n: number): string => `dd oflag=direct, ${n} writer${n > 1 ? 's' : ''}`;
const DD_BEST = ddDirect(Math.max(...DD_WRITERS));
const ddReaders = (n: number): string => `dd iflag=direct, ${n} reader${n > 1 ? 's' : ''}`;

const save = (label: string): string => `save: ${label}`;
const restore = (label: string): string => `restore: ${label}`;
const instant = (label: string): string => `instant restore (RAM mapped, cold cache): ${label}`;

/** libvirt's samples go into the same table: its peak is the sampled libvirtd + iohelper RSS. */
function addVirsh(res: Results, group: string, label: string, op: VirshOp, bytes: number): void {
  res.addOp(group, label, { ms: op.ms, hwmKiB: op.peakKiB, rssBeforeKiB: 0 }, bytes);
}

interface Ctx {
  lv: QemuLibvirtd;
  emulator: string;
  dir: string;
  res: Results;
}

/** One libvirt layout: save, restore right after (the image in the page cache, as both leave it). */
async function lvStep(c: Ctx, group: string, name: string, m: LvMode): Promise<number> {
  const img = path.join(c.dir, `${name}.img`);
  syncDisks();
  const s = await libvirtSave(c.lv, name, img, m.save);
  const moved = imageBytes(img);
  addVirsh(c.res, group, save(m.label), s, moved);
  addVirsh(c.res, group, restore(m.label), await libvirtRestore(c.lv, img, m.restore), moved);
  if (m.sparse && m.restore.includes('--bypass-cache')) {
    // QEMU 10.0.2 segfaults on the next save of a guest libvirt 11.3 restored from a sparse image
    // with --bypass-cache (seen in this bench): restore it once more without, untimed.
    await libvirtDestroy(c.lv, name);
    await libvirtRestore(c.lv, img, m.restore.filter((a) => a !== '--bypass-cache'));
  }
  removeImage(img);
  return moved;
}

/** One tsvirt layout the same way; region images also restore instantly after a drop_caches. */
async function tsStep(c: Ctx, group: string, name: string, m: TsMode): Promise<void> {
  const img = path.join(c.dir, `${name}.img`);
  syncDisks();
  let op = await runOp({ op: 'save', name, file: img, params: m.params, flags: m.flags });
  const moved = imageBytes(img);
  c.res.addOp(group, save(m.label), op, moved);
  op = await runOp({ op: 'restore', file: img, flags: m.flags });
  c.res.addOp(group, restore(m.label), op, moved);
  if (m.instant) {
    await runOp({ op: 'destroy', name });
    dropCaches();
    op = await runOp({ op: 'restore', file: img, params: { 'parallel.instant': true } });
    c.res.addOp(group, instant(m.label), op, moved);
    // Back to a guest with RAM of its own: the next save must not write the mapped image.
    await runOp({ op: 'destroy', name });
    await runOp({ op: 'restore', file: img });
  }
  removeImage(img);
}

/** One guest size and kind on both sides, every round interleaved: libvirt, tsvirt, ..., dd. */
async function benchGuest(c: Ctx, group: string, bytes: number, randomBytes: number | undefined): Promise<void> {
  const tag = randomBytes === undefined ? 'rand' : 'zero';
  const lvName = `lv11-${tag}`;
  const tsName = `ts-${tag}`;
  const srcFile = path.join(c.dir, `${tag}.random`);
  const ddFile = path.join(c.dir, `${tag}.dd`);
  for (const l of [...LV_MODES.map((m) => m.label), ...TS_MODES.map((m) => m.label)]) {
    c.res.declare(group, save(l), DD_BEST, bytes);
    c.res.declare(group, restore(l), undefined, bytes);
    if (TS_MODES.find((m) => m.label === l)?.instant) c.res.declare(group, instant(l), undefined, bytes);
  }
  for (const l of [DD_SYNC, ...DD_WRITERS.map(ddDirect), ...DD_WRITERS.map(ddReaders)]) c.res.declare(group, l, undefined, undefined);
  const t0 = performance.now();
  try {
    const a = await createLibvirtGuest(c.lv, lvName, bytes, c.emulator, c.dir, randomBytes);
    const b = await createFilledGuest(tsName, bytes, { memfd: true, randomBytes, emulator: c.emulator });
    console.log(`${group}: ${(a / GIB).toFixed(2)} + ${(b / GIB).toFixed(2)} GiB of random bytes written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    let ddBytes = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      for (let i = 0; i < Math.max(LV_MODES.length, TS_MODES.length); i++) {
        if (LV_MODES[i]) {
          const moved = await lvStep(c, group, lvName, LV_MODES[i]);
          // dd writes as many bytes as libvirt's raw image holds: the same bytes, once.
          if (i === 0 && !ddBytes) {
            ddBytes = moved;
            makeRandomSource(srcFile, ddBytes);
          }
        }
        if (TS_MODES[i]) await tsStep(c, group, tsName, TS_MODES[i]);
      }
      c.res.add(group, DD_SYNC, ddWrite(srcFile, ddFile, false), ddBytes);
      for (const n of DD_WRITERS) c.res.add(group, ddDirect(n), n === 1 ? ddWrite(srcFile, ddFile, true) : ddWriteParallelDirect(srcFile, ddFile, n), ddBytes);
      // What the disk reads directly, the floor under any full restore of the same bytes.
      for (const n of DD_WRITERS) {
        dropCaches();
        c.res.add(group, ddReaders(n), ddReadParallelDirect(ddFile, n), ddBytes);
      }
      fs.rmSync(ddFile, { force: true });
      console.log(`${group}: round ${r}/${ROUNDS} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    fs.rmSync(ddFile, { force: true });
    fs.rmSync(srcFile, { force: true });
    for (const f of fs.readdirSync(c.dir).filter((x) => x.endsWith('.img') || /\.img\.\d+$/.test(x))) fs.rmSync(path.join(c.dir, f), { force: true });
    await removeLibvirtGuest(c.lv, lvName);
    await removeGuest(tsName).catch(() => undefined);
  }
}

function groupRows(gib: number, random: boolean): GroupRows {
  return {
    group: `${gib} GiB ${random ? 'random' : 'mostly zero'}`,
    lvSaves: LV_MODES.map((m) => save(m.label)),
    lvRestores: LV_MODES.map((m) => restore(m.label)),
    lvSparseSaves: LV_MODES.filter((m) => m.sparse).map((m) => save(m.label)),
    lvSparseRestores: LV_MODES.filter((m) => m.sparse).map((m) => restore(m.label)),
    tsSaves: TS_MODES.map((m) => save(m.label)),
    tsRestores: TS_MODES.map((m) => restore(m.label)),
    tsInstant: TS_MODES.filter((m) => m.instant).map((m) => instant(m.label)),
    ddParallel: DD_BEST,
  };
}

const NOTES = `
## How it was measured
- One process ran everything in one run: a private libvirtd 11.3 (bookworm-backports, unpacked
  by scripts/setup-libvirt11.sh; test/helpers/libvirtd-qemu.ts) and tsvirt's qemu:///session,
  both running the same QEMU 10 binary (named in each guest's \`<emulator>\`). Per guest and
  round the operations alternate: a libvirt 11.3 save and restore, a tsvirt save and restore,
  the next libvirt one, ..., then the dd yardsticks. The machine (2 cores) was shared with other
  engineers' tests and QEMU guests during the run (see the load average above).
- Guests: paused TCG \`pc\` guests with shared memfd RAM, the same XML on both sides; "random":
  all RAM but the firmware areas (first 16 MiB, top 16 MiB of low memory) is random bytes,
  written through /proc/PID/mem; "mostly zero": 128 MiB of random bytes, the rest untouched.
  Each side has its own guest with its own random bytes.
- libvirt rows are \`virsh save\` / \`virsh restore\` wall times (virsh start-up included, some
  tens of ms); "peak RSS" for libvirt is the highest sum of libvirtd's and its
  libvirt_iohelper processes' VmRSS, sampled every 100 ms (a short-lived peak can be missed;
  QEMU's own memory is on neither side). tsvirt rows run in their own Node process; their peak
  RSS is that process's VmHWM (about 60 MiB of Node before the call).
- "MiB moved" is what the image occupies on disk (holes not counted); MB/s is that over the
  wall time; the save ratio is against ${DD_BEST} of the same number of bytes as libvirt's raw
  image (random bytes from the page cache, one 1/N slice per writer, each with fdatasync).
- Restores run right after their save (the image in the page cache, as the save left it),
  include starting QEMU and end with the guest paused, as saved. Instant restore: the guest is
  destroyed, the page cache dropped, and the region image's RAM mapped as the guest's memory.
- Where the time goes: tsvirt's breakdown polls QEMU's \`query-migrate\` \`total-time\` during
  the save. libvirt owns its QEMU's monitor and \`virsh domjobinfo --completed\` reports nothing
  once the saved guest is gone, so libvirt's saves have no breakdown (not measured).
- Workaround in the bench: QEMU 10.0.2 segfaulted (NULL + 0x38, the same code offset 0x75c9db
  every time) on the next save of a guest that libvirt 11.3 had restored from a sparse image
  with \`--bypass-cache\`; after each such timed restore the bench destroys the guest and
  restores the image once more without it (untimed). tsvirt's sparse bypass-cache restore is
  followed by a save without that crash.
`;

async function main(): Promise<void> {
  const emulator = process.env.TSVIRT_QEMU ?? qemu10Binary();
  process.env.TSVIRT_QEMU = emulator;
  const env = benchEnv('libvirt11-save');
  const lv = await startLibvirt11();
  const c: Ctx = { lv, emulator, dir: env.workDir, res: new Results() };
  const machine = machineDescription(env.workDir);
  const groups: GroupRows[] = [];
  try {
    for (const gib of sizesGiB([1, 4])) {
      for (const random of kinds()) {
        await benchGuest(c, `${gib} GiB ${random ? 'random' : 'mostly zero'}`, gib * GIB, random ? undefined : 128 * MIB);
        groups.push(groupRows(gib, random));
        // Written after every guest, so a run cut short still leaves the guests it finished.
        const notes = `${targetsReport(c.res, groups)}\n${NOTES}`;
        writeReport('libvirt11-save', 'tsvirt and libvirt 11.3 save / restore on QEMU 10, interleaved (issue 11)', machine, ROUNDS, c.res, notes, true);
      }
    }
  } finally {
    await lv.stop();
    teardownBench(env);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
