/**
 * Parallel save and restore (issue 4): a 4 GiB guest of random RAM and a mostly-zero 4 GiB
 * guest, saved single-stream (the baseline), to multiple files with 2 and 4 multifd channels
 * (with and without zstd) and in single-file region mode with 4 workers, and restored from each;
 * next to dd / cp of the same bytes to the same directory in the same run. Prints the table
 * (wall time, MB/s, ratio to dd, peak RSS of the tsvirt process) and writes
 * bench/results/parallel-save.md.
 *
 * Both guests use shared memfd RAM, which region mode needs; the other modes migrate that RAM
 * like any other (x-ignore-shared is only on in region mode).
 *
 * Run: npm run build && node dist/bench/parallel-save.js
 * Env: BENCH_SIZES_GIB=1 for a quick run (guest size); BENCH_ROUNDS=N (default 2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { machineDescription } from './machine';
import { GIB, MIB, benchEnv, createFilledGuest, removeGuest, runOp, teardownBench } from './qemu-bench-guest';
import { cpFile, ddRead, ddWrite, dropCaches, imageBytes, makeRandomSource, removeImage, rounds, sizesGiB, syncDisks } from './qemu-bench-host';
import { Results, writeReport } from './qemu-bench-report';
import { SaveRestoreFlags } from '../src';
import { binaryCapabilities } from '../src/drivers/qemu/capabilities';
import { defaultEmulator } from '../src/drivers/qemu/emulator';

const ROUNDS = rounds(2);

interface Mode {
  label: string;
  params: Record<string, string | number>;
  /** Also restore with a cold page cache. */
  cold: boolean;
  /** Also restore with parallel.instant (region images). */
  instant?: boolean;
  /** A QEMU migration capability the mode needs; the mode is left out where QEMU lacks it. */
  needs?: string;
  /** Save flags (e.g. BYPASS_CACHE). */
  flags?: number;
}

const MODES: Mode[] = [
  { label: 'single stream (baseline)', params: {}, cold: true },
  { label: 'files, 2 channels', params: { 'parallel.channels': 2, 'parallel.mode': 'files', 'parallel.compression': 'none' }, cold: false },
  { label: 'files, 2 channels, zstd', params: { 'parallel.channels': 2, 'parallel.mode': 'files', 'parallel.compression': 'zstd' }, cold: false },
  { label: 'files, 4 channels', params: { 'parallel.channels': 4, 'parallel.mode': 'files', 'parallel.compression': 'none' }, cold: true },
  { label: 'files, 4 channels, zstd', params: { 'parallel.channels': 4, 'parallel.mode': 'files', 'parallel.compression': 'zstd' }, cold: false },
  { label: 'region, 4 workers', params: { 'parallel.channels': 4, 'parallel.mode': 'region' }, cold: true, instant: true },
  { label: 'sparse (mapped-ram), 1 channel', params: { image_format: 'sparse', 'parallel.channels': 1 }, cold: false, needs: 'mapped-ram' },
  { label: 'sparse (mapped-ram), 4 channels', params: { image_format: 'sparse', 'parallel.channels': 4 }, cold: true, needs: 'mapped-ram' },
  { label: 'sparse, 4 channels, bypass-cache', params: { image_format: 'sparse', 'parallel.channels': 4 }, cold: false, needs: 'mapped-ram', flags: SaveRestoreFlags.BYPASS_CACHE },
];

/** The modes the bench's QEMU can do (TSVIRT_QEMU, else the system's), probed, not assumed. */
let modes: Mode[] = MODES;

const DD_W = 'dd write conv=fdatasync';
const DD_WD = 'dd write oflag=direct';
const CP = 'cp + fsync';
const DD_R = 'dd read (page cache)';
const DD_RC = 'dd read (cold)';

const save = (m: Mode): string => `save: ${m.label}`;
const restore = (m: Mode): string => `restore: ${m.label}`;
const restoreCold = (m: Mode): string => `restore after drop_caches: ${m.label}`;
const restoreInstant = (m: Mode): string => `instant restore (RAM mapped, cold cache): ${m.label}`;

/** One guest through every mode, `ROUNDS` times, with the yardsticks in each round. */
async function benchGuest(group: string, name: string, bytes: number, randomBytes: number | undefined, dir: string, res: Results): Promise<void> {
  const img = path.join(dir, `${name}.img`);
  const ddFile = path.join(dir, `${name}.dd`);
  const srcFile = path.join(dir, `${name}.random`);
  const yardsticks = randomBytes === undefined;
  res.declare(group, 'save: single stream (cold: first after fill)', DD_W, bytes);
  res.declare(group, 'restore: single stream (cold: first)', yardsticks ? DD_R : undefined, bytes);
  for (const m of modes) {
    res.declare(group, save(m), DD_W, bytes);
    res.declare(group, restore(m), yardsticks ? DD_R : undefined, bytes);
    if (m.cold && yardsticks) res.declare(group, restoreCold(m), DD_RC, bytes);
    if (m.instant) res.declare(group, restoreInstant(m), undefined, bytes);
  }
  for (const l of yardsticks ? [DD_W, DD_WD, CP, DD_R, DD_RC] : [DD_W]) res.declare(group, l);

  const t0 = performance.now();
  const filled = await createFilledGuest(name, bytes, { memfd: true, randomBytes });
  console.log(`${group}: ${(filled / GIB).toFixed(2)} GiB of random bytes written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    syncDisks();
    let op = await runOp({ op: 'save', name, file: img });
    const ddBytes = imageBytes(img);
    res.addOp(group, 'save: single stream (cold: first after fill)', op, ddBytes);
    op = await runOp({ op: 'restore', file: img });
    res.addOp(group, 'restore: single stream (cold: first)', op, ddBytes);
    removeImage(img);
    makeRandomSource(srcFile, ddBytes);

    for (let r = 1; r <= ROUNDS; r++) {
      for (const m of modes) {
        syncDisks();
        op = await runOp({ op: 'save', name, file: img, params: m.params, flags: m.flags });
        const moved = imageBytes(img);
        res.addOp(group, save(m), op, moved);
        op = await runOp({ op: 'restore', file: img });
        res.addOp(group, restore(m), op, moved);
        if (m.cold && yardsticks) {
          await runOp({ op: 'destroy', name });
          dropCaches();
          op = await runOp({ op: 'restore', file: img });
          res.addOp(group, restoreCold(m), op, moved);
        }
        if (m.instant) {
          await runOp({ op: 'destroy', name });
          dropCaches();
          op = await runOp({ op: 'restore', file: img, params: { 'parallel.instant': true } });
          res.addOp(group, restoreInstant(m), op, moved);
          // Back to a guest with RAM of its own: the next save must not write the mapped image.
          await runOp({ op: 'destroy', name });
          await runOp({ op: 'restore', file: img });
        }
        removeImage(img);
      }
      res.add(group, DD_W, ddWrite(srcFile, ddFile, false), ddBytes);
      if (yardsticks) {
        res.add(group, DD_R, ddRead(ddFile, false), ddBytes);
        res.add(group, DD_RC, ddRead(ddFile, true), ddBytes);
        res.add(group, DD_WD, ddWrite(srcFile, ddFile, true), ddBytes);
        res.add(group, CP, cpFile(srcFile, ddFile), ddBytes);
      }
      fs.rmSync(ddFile, { force: true });
      console.log(`${group}: round ${r}/${ROUNDS} done`);
    }
  } finally {
    removeImage(img);
    fs.rmSync(ddFile, { force: true });
    fs.rmSync(srcFile, { force: true });
    await removeGuest(name).catch(() => undefined);
  }
}

const NOTES = `
## How it was measured
- Guests: paused TCG \`pc\` guests with shared memfd RAM
  (\`<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>\`), which region
  mode needs; single-stream and multi-file saves migrate that RAM like anonymous RAM. "random":
  all RAM but the first 16 MiB and the top 16 MiB of low memory is random bytes; "mostly zero":
  128 MiB of random bytes, the rest never touched.
- Every save / restore runs in its own Node process: "wall s" is the \`saveParams\` /
  \`restoreParams\` call alone; "peak RSS" is that process's VmHWM (Node and tsvirt included,
  about 60 MiB before the call).
- "MiB moved" is what the image occupies on disk (every file; a region image's holes are not
  counted). "guest RAM GiB/s" is the guest's RAM size over the wall time. dd / cp copy a file of
  random bytes as large as the single-stream image (read from the page cache) into the same
  directory, in every round. Ratio = rate / the "vs" row's rate.
- Restores run right after their save (the image is in the page cache, as a save leaves it);
  "restore after drop_caches" destroys that guest, drops the page cache and restores the same
  image again. Restores include starting QEMU and end with the guest ready (paused, as saved).
- Instant restore (\`parallel.instant\`, region images): the image's RAM region is mapped
  copy-on-write as the guest's memory (through a loop device, since QEMU 7.2's
  \`memory-backend-file\` has no \`offset\`), after a drop_caches; the row's time is the whole
  \`restoreParams\` call (QEMU start, loop device, device state) with the guest ready, paused.
  Pages then load on demand as the guest touches them.
- The breakdown uses QEMU's own \`query-migrate\` \`total-time\` polled during the save: "before
  QEMU streams" includes region mode's RAM copy by tsvirt's workers; "QEMU streaming" is QEMU's
  send time (for multi-file: into tsvirt's socket relay); "after QEMU completed" is the relay
  draining and hashing the rest, fdatasync of every file, the manifest and header rewrite, and
  QEMU's shutdown.

## Reading the numbers (where the time goes)
- On this VM disk \`dd conv=fdatasync\` has been slower than \`dd oflag=direct\` and \`cp\` +
  fsync in every run (from 1.4x to several times), so ratios against it flatter every save;
  compare with the cp and O_DIRECT rows too.
- Single stream: QEMU's send rate into the \`exec:\` pipe (\`cat >> FILE\`) is the limit; the
  data never passes through Node (peak RSS stays at Node's baseline).
- Multi-file (multifd): QEMU sends into tsvirt's UNIX-socket relay, and one Node thread reads
  every connection, hashes every byte with SHA-256 and queues writev calls for libuv's pool; on
  2 cores that thread competes with QEMU's migration and multifd threads. zstd (level 1 in
  QEMU's channel threads) finds nothing to compress in random RAM (see "MiB moved"). The relay's
  queues (16 MiB high water per stream) show in the peak RSS. Restore is the same relay
  backwards: one Node thread reads, hashes and writes to N sockets.
- Region mode: the save's time is tsvirt's RAM copy before QEMU sends the (tiny) device state:
  one \`dd\` per region copies RAM into the image in the kernel with O_DIRECT writes and
  \`conv=sparse\` (zero blocks become holes) while Node hashes the same regions (XXH3-128 over
  the non-zero 64 KiB blocks, one thread). Its restore reads the image's RAM with O_DIRECT and
  writes it into the new guest's memfd with positional writes (no QEMU stream parsing), and for
  a mostly-zero guest reads only the chunks the regions' data maps list.
- Mostly-zero restores through QEMU's stream are dominated by QEMU itself: while loading zero
  pages QEMU checks each page of the fresh memfd backend, and reading a shared memfd page
  allocates it, so all of the guest's RAM is touched.
- Instant restore maps instead of copying, so its time does not grow with RAM: QEMU's start
  and the device state dominate.
`;

const NOTES_QEMU10 = `
## How it was measured
- As in parallel-save.md (same guests, same yardsticks, same per-operation processes), with
  bookworm-backports' QEMU 10 as the emulator (\`TSVIRT_QEMU\`, unpacked by
  \`scripts/setup-qemu10.sh\`). On QEMU 10 a guest asking for shared memfd RAM runs with a named
  tmpfs file backend (see docs/parallel-save.md), and instant restore maps the image at its
  offset with \`memory-backend-file\` instead of a loop device.
- "sparse" is libvirt 11.2+'s layout: QEMU's multifd channels write RAM pages at fixed offsets of
  one file (mapped-ram), zero pages left as holes; tsvirt hashes the slices after QEMU completes.
- libvirt 11.3 is not measured in this run (it is not installed beside libvirt 9.0).
`;

async function main(): Promise<void> {
  const emulator = defaultEmulator('x86_64');
  const caps = await binaryCapabilities(emulator);
  modes = MODES.filter((m) => !m.needs || caps.migrationCapabilities.includes(m.needs));
  const qemu10 = process.env.BENCH_QEMU_LABEL === 'qemu10';
  const env = benchEnv(qemu10 ? 'parallel-save-qemu10' : 'parallel-save');
  const res = new Results();
  const machine = machineDescription(env.workDir);
  const [gib] = sizesGiB([4]);
  const bytes = gib * GIB;
  try {
    await benchGuest(`${gib} GiB random`, 'par-random', bytes, undefined, env.workDir, res);
    await benchGuest(`${gib} GiB mostly zero`, 'par-zero', bytes, 128 * MIB, env.workDir, res);
    if (qemu10) writeReport('parallel-save-qemu10', 'Parallel save / restore on QEMU 10 (issue 11)', machine, ROUNDS, res, NOTES_QEMU10, true);
    else writeReport('parallel-save', 'Parallel save / restore (issue 4)', machine, ROUNDS, res, NOTES, true);
  } finally {
    teardownBench(env);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
