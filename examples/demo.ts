/**
 * `npm run demo`: saves a running guest through 4 parallel channels and restores it, printing
 * each step. With QEMU installed it boots the Linux test guest (Debian's kernel and a busybox
 * initramfs from scripts/build-guest.sh; 256 MiB, TCG, virtio disk, user-mode NIC) on
 * `qemu:///session`, kept in a private temporary state directory, and prints its serial console
 * before the save and after the restore: the counter goes on, the memory checksum is the same.
 * Without QEMU it uses the in-process `test:///default` hypervisor. A URI given as the first
 * argument or in TSVIRT_DEMO_URI overrides the choice (the demo then uses that connection's first
 * running domain).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect, DomainState, JobStatsFlags, RunningReason, ShutoffReason, VirError, type Domain } from 'tsvirt';
import { verifySaveImage } from '../src/conf/save-image';
import { bootLinuxGuest, ensureLinuxGuest, missingDiskRecords, waitForTicks, type LinuxGuest } from '../test/helpers/linux-guest';

const STATE_NAMES: Record<number, string> = {
  [DomainState.RUNNING]: 'running',
  [DomainState.PAUSED]: 'paused',
  [DomainState.SHUTOFF]: 'shut off',
};

/** Reason names for the states the demo goes through (virsh's words). */
const REASON_NAMES: Record<number, Record<number, string>> = {
  [DomainState.RUNNING]: { [RunningReason.BOOTED]: 'booted', [RunningReason.RESTORED]: 'restored', [RunningReason.UNKNOWN]: 'unknown' },
  [DomainState.SHUTOFF]: { [ShutoffReason.SAVED]: 'saved' },
};

async function describe(dom: Domain): Promise<string> {
  const { state, reason } = await dom.getState();
  return `${STATE_NAMES[state] ?? `state ${state}`} (${REASON_NAMES[state]?.[reason] ?? `reason ${reason}`})`;
}

function haveQemu(): boolean {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Prints the workload lines of the guest's console from line `from` on. */
function showConsole(guest: LinuxGuest, from: number): number {
  guest.console.poll();
  for (const line of guest.console.lines.slice(from)) {
    if (line.startsWith('TSVIRT-GUEST ')) console.log(`  console | ${line.slice('TSVIRT-GUEST '.length)}`);
  }
  return guest.console.lines.length;
}

/** Boots the Linux guest and shows its first console lines. */
async function bootDemoGuest(conn: Connect, dir: string): Promise<LinuxGuest> {
  const files = ensureLinuxGuest();
  console.log(`Linux guest: kernel ${files.info.KERNEL_RELEASE} (${files.info.KERNEL_PACKAGE}), ${files.info.BUSYBOX_PACKAGE}`);
  const t0 = Date.now();
  const guest = await bootLinuxGuest(conn, { name: 'tsvirt-demo', files, dir, mib: 256 });
  await waitForTicks(guest, 3);
  console.log(`booted a 256 MiB TCG guest '${guest.dom.name}' in ${((Date.now() - t0) / 1000).toFixed(1)} s; its serial console:`);
  showConsole(guest, 0);
  return guest;
}

/** After the restore: shows the console going on and checks it is the same guest, not a reboot. */
async function showAlive(guest: LinuxGuest, lastBefore: number, from: number): Promise<void> {
  guest.console.reopen();
  const last = await waitForTicks(guest, 4);
  console.log('its serial console after the restore:');
  showConsole(guest, from);
  const after = guest.console.ticks().filter((t) => t.tick > lastBefore);
  const sums = after.filter((t) => t.buf).map((t) => t.buf);
  const sameBoot = after.every((t) => t.boot === guest.ready.boot);
  const sameBuf = sums.length > 0 && sums.every((s) => s === guest.ready.buf);
  const missing = missingDiskRecords(guest, 1, last);
  if (after[0]?.tick !== lastBefore + 1 || !sameBoot || !sameBuf || missing.length) {
    throw new Error(`the restored guest did not continue where it stopped (first tick ${after[0]?.tick}, expected ${lastBefore + 1}; same boot: ${sameBoot}; same buffer: ${sameBuf}; missing disk records: ${missing.join(',') || 'none'})`);
  }
  console.log(`alive: counter went on from ${lastBefore} to ${last} (same boot ${guest.ready.boot}), ` +
    `${guest.ready.bufBytes / 1048576} MiB buffer checksum unchanged, disk records 1..${last} all on the disk image`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-demo-'));
  const given = process.argv[2] ?? process.env.TSVIRT_DEMO_URI;
  const useQemu = !given && haveQemu();
  if (useQemu) {
    // A private state directory: the demo never touches the user's own qemu:///session guests.
    for (const d of ['config', 'run', 'data']) fs.mkdirSync(path.join(dir, d));
    process.env.XDG_CONFIG_HOME = path.join(dir, 'config');
    process.env.XDG_RUNTIME_DIR = path.join(dir, 'run');
    process.env.XDG_DATA_HOME = path.join(dir, 'data');
  } else if (!given) {
    console.log('qemu-system-x86_64 not found: using the in-process test:///default hypervisor');
  }
  const uri = given ?? (useQemu ? 'qemu:///session' : 'test:///default');
  const file = path.join(dir, 'guest.save');
  const conn = await Connect.open(uri);
  let guest: LinuxGuest | undefined;
  try {
    console.log(`connected to ${await conn.getURI()} (${await conn.getType()} ${await conn.getVersion()})`);
    if (useQemu) guest = await bootDemoGuest(conn, dir);
    const dom = guest?.dom ?? (await conn.listAllDomains(1))[0];
    if (!dom) throw new Error(`no running domain on ${uri}`);
    console.log(`domain '${dom.name}' ${dom.uuid}: ${await describe(dom)}`);

    console.log(`saving '${dom.name}' to ${file} with parallel.channels=4 ...`);
    const t0 = Date.now();
    await dom.saveParametersFlags({ file, 'parallel.channels': 4 }, 0);
    const stats = await dom.getJobStats(JobStatsFlags.COMPLETED);
    const total = stats.params.find((p) => p.field === 'data_total')?.value;
    console.log(`saved in ${Date.now() - t0} ms (${String(total)} bytes of guest state); domain is now ${await describe(dom)}`);
    for (const f of fs.readdirSync(dir).filter((f) => f.startsWith('guest.save')).sort()) {
      console.log(`  ${f.padEnd(16)} ${String(fs.statSync(path.join(dir, f)).size).padStart(12)} bytes`);
    }
    let lastBefore = 0;
    let consoleLines = 0;
    if (guest) {
      // QEMU has exited: the console log holds all the guest printed before the save.
      const shownUpTo = guest.console.lines.length;
      guest.console.poll();
      consoleLines = guest.console.lines.length;
      lastBefore = guest.console.lastTick();
      if (consoleLines > shownUpTo) {
        console.log('its serial console up to the save:');
        showConsole(guest, Math.max(shownUpTo, consoleLines - 3));
      }
      console.log(`the guest's last tick before the save: ${lastBefore}`);
    }
    const report = await verifySaveImage(file);
    console.log(`verified ${report.pieces.length} pieces (SHA-256 of the main stream and every channel file)`);

    console.log(`restoring from ${file} ...`);
    const t1 = Date.now();
    await conn.restore(file);
    console.log(`restored in ${Date.now() - t1} ms; domain is now ${await describe(dom)}`);
    if (guest) await showAlive(guest, lastBefore, consoleLines);
  } finally {
    if (guest) {
      await guest.dom.destroy().catch(() => undefined);
      await guest.dom.undefine().catch(() => undefined);
    }
    await conn.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof VirError ? `error: ${err.message} (code ${err.code}, domain ${err.domain})` : err);
  process.exit(1);
});
