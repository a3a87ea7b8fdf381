/**
 * `npm run demo`: saves a running guest through 4 parallel channels and restores it, printing
 * each step. With QEMU installed it boots a real (OS-less, 256 MiB) TCG guest on
 * `qemu:///session`, kept in a private temporary state directory; without QEMU it uses the
 * in-process `test:///default` hypervisor. A URI given as the first argument or in
 * TSVIRT_DEMO_URI overrides the choice (the demo then uses that connection's first running domain).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect, DomainState, JobStatsFlags, RunningReason, ShutoffReason, VirError, type Domain } from 'tsvirt';
import { verifySaveImage } from '../src/conf/save-image';

const STATE_NAMES: Record<number, string> = {
  [DomainState.RUNNING]: 'running',
  [DomainState.PAUSED]: 'paused',
  [DomainState.SHUTOFF]: 'shut off',
};

const DEMO_XML = `<domain type='qemu'>
  <name>tsvirt-demo</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices/>
</domain>`;

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
  let demoDomain: Domain | undefined;
  try {
    console.log(`connected to ${await conn.getURI()} (${await conn.getType()} ${await conn.getVersion()})`);
    if (useQemu) {
      demoDomain = await conn.defineXML(DEMO_XML);
      await demoDomain.create();
      console.log(`booted a 256 MiB TCG guest '${demoDomain.name}'`);
    }
    const dom = demoDomain ?? (await conn.listAllDomains(1))[0];
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
    const report = await verifySaveImage(file);
    console.log(`verified ${report.pieces.length} pieces (SHA-256 of the main stream and every channel file)`);

    console.log(`restoring from ${file} ...`);
    const t1 = Date.now();
    await conn.restore(file);
    console.log(`restored in ${Date.now() - t1} ms; domain is now ${await describe(dom)}`);
  } finally {
    if (demoDomain) {
      await demoDomain.destroy().catch(() => undefined);
      await demoDomain.undefine().catch(() => undefined);
    }
    await conn.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof VirError ? `error: ${err.message} (code ${err.code}, domain ${err.domain})` : err);
  process.exit(1);
});
