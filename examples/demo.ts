/**
 * `npm run demo`: saves a running guest with parallel channels and restores it, printing each step.
 * Runs on `test:///default` (the in-process test hypervisor), or on the URI given as the first
 * argument / TSVIRT_DEMO_URI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect, DomainState, JobStatsFlags, VirError, type Domain } from 'tsvirt';

const STATE_NAMES: Record<number, string> = {
  [DomainState.RUNNING]: 'running',
  [DomainState.PAUSED]: 'paused',
  [DomainState.SHUTOFF]: 'shut off',
};

async function describe(dom: Domain): Promise<string> {
  const { state, reason } = await dom.getState();
  return `${STATE_NAMES[state] ?? `state ${state}`} (reason ${reason})`;
}

async function main(): Promise<void> {
  const uri = process.argv[2] ?? process.env.TSVIRT_DEMO_URI ?? 'test:///default';
  const channels = 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-demo-'));
  const file = path.join(dir, 'guest.save');

  const conn = await Connect.open(uri);
  console.log(`connected to ${await conn.getURI()} (${await conn.getType()} ${await conn.getVersion()})`);
  const dom = (await conn.listAllDomains(1))[0];
  if (!dom) throw new Error(`no running domain on ${uri}`);
  console.log(`domain '${dom.name}' ${dom.uuid}: ${await describe(dom)}`);

  console.log(`saving '${dom.name}' to ${file} with parallel.channels=${channels} ...`);
  const started = Date.now();
  await dom.saveParametersFlags({ file, 'parallel.channels': channels }, 0);
  const stats = await dom.getJobStats(JobStatsFlags.COMPLETED);
  const total = stats.params.find((p) => p.field === 'data_total')?.value;
  console.log(`saved in ${Date.now() - started} ms, ${String(total)} bytes; domain is now ${await describe(dom)}`);
  for (const f of fs.readdirSync(dir).sort()) {
    console.log(`  ${f.padEnd(16)} ${String(fs.statSync(path.join(dir, f)).size).padStart(10)} bytes`);
  }
  const xml = await conn.saveImageGetXMLDesc(file);
  console.log(`image holds the XML of '${/<name>([^<]*)<\/name>/.exec(xml)?.[1]}'`);

  console.log(`restoring from ${file} ...`);
  const t1 = Date.now();
  await conn.restore(file);
  console.log(`restored in ${Date.now() - t1} ms; domain is now ${await describe(dom)}`);

  await conn.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err instanceof VirError ? `error: ${err.message} (code ${err.code}, domain ${err.domain})` : err);
  process.exit(1);
});
