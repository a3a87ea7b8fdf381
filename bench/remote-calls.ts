/**
 * Remote call throughput: calls per second of getVersion and lookupByName + info, from
 * libvirt-python and from tsvirt's remote driver, to tsvirtd and to Debian's libvirtd in the same
 * run (both serving their test driver on a UNIX socket), plus each daemon's RSS with 100 idle
 * clients. Prints a table and writes bench/results/remote-calls.md.
 *
 * Run: npm run build && node dist/bench/remote-calls.js [seconds-per-measurement]
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../src';
import { rssMiB, startLibvirtd, startTsvirtd, type BenchServer } from './remote-servers';
import { measureSaveRss } from './remote-save-rss';

/** Guest size of the save-through-the-daemon RSS measurement. */
const SAVE_RSS_GIB = Number(process.env.BENCH_SAVE_RSS_GIB ?? 4);

const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = 3;

const PY = `
import sys, time, libvirt
uri, kind, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = libvirt.open(uri)
n = 0
end = time.monotonic() + secs
t0 = time.monotonic()
if kind == 'version':
    while time.monotonic() < end:
        c.getVersion(); n += 1
else:
    while time.monotonic() < end:
        c.lookupByName('test').info(); n += 1
print(n / (time.monotonic() - t0))
`;

function python(uri: string, kind: string): Promise<number> {
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/python3', ['-c', PY, uri, kind, String(SECONDS)], (err, out) => (err ? reject(err) : resolve(Number(out.trim())))),
  );
}

/** `n` libvirt-python clients at once, each with one call in flight: their summed calls/s. */
async function concurrent(uri: string, kind: string, n: number): Promise<number> {
  const rates = await Promise.all(Array.from({ length: n }, () => python(uri, kind)));
  return rates.reduce((a, b) => a + b, 0);
}

async function tsvirt(uri: string, kind: string): Promise<number> {
  const c = await Connect.open(uri);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  try {
    if (kind === 'version') while (performance.now() < end) (await c.getVersion(), n++);
    else while (performance.now() < end) (await (await c.lookupDomainByName('test')).getInfo(), n++);
  } finally {
    await c.close();
  }
  return n / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function idleRss(server: BenchServer): Promise<{ before: number; after: number }> {
  const before = rssMiB(server.pid);
  const conns = await Promise.all(Array.from({ length: 100 }, () => Connect.open(`test+unix:///default?socket=${server.socket}`)));
  await new Promise((r) => setTimeout(r, 500));
  const after = rssMiB(server.pid);
  await Promise.all(conns.map((c) => c.close()));
  return { before, after };
}

function machine(): string {
  const lscpu = execFileSync('lscpu', { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^(Architecture|CPU\(s\)|Model name|Thread|Core|Socket|CPU max MHz|Hypervisor vendor)/.test(l))
    .join('\n');
  return `${lscpu}\n\n${execFileSync('free', ['-m'], { encoding: 'utf8' })}`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-bench-'));
  const servers = [await startTsvirtd(dir), await startLibvirtd(dir)];
  // Before any call: what each daemon holds when it has done nothing yet.
  await new Promise((r) => setTimeout(r, 1000));
  const startRss = new Map(servers.map((s) => [s.name, rssMiB(s.pid)]));
  const rows: string[][] = [];
  const results: Record<string, number> = {};
  try {
    // Rounds outermost and the two daemons back to back inside each: a noisy stretch of the
    // shared machine then hits both sides of a ratio alike.
    const cells: Array<{ client: string; kind: string }> = [];
    for (const client of ['libvirt-python', 'tsvirt', 'libvirt-python x8']) for (const kind of ['version', 'lookup+info']) cells.push({ client, kind });
    const runs = new Map<string, number[]>();
    for (let i = 0; i < ROUNDS; i++) {
      for (const { client, kind } of cells) {
        for (const s of servers) {
          const uri = `test+unix:///default?socket=${s.socket}`;
          const rate = client === 'tsvirt' ? await tsvirt(uri, kind) : client === 'libvirt-python' ? await python(uri, kind) : await concurrent(uri, kind, 8);
          const key = `${client}|${kind}|${s.name}`;
          runs.set(key, [...(runs.get(key) ?? []), rate]);
        }
      }
    }
    for (const { client, kind } of cells) {
      for (const s of servers) {
        const key = `${client}|${kind}|${s.name}`;
        const r = runs.get(key)!;
        results[key] = median(r);
        rows.push([client, kind === 'version' ? 'getVersion' : 'lookupByName + info', s.name, results[key].toFixed(0), r.map((x) => x.toFixed(0)).join(', ')]);
        console.log(rows[rows.length - 1].join(' | '));
      }
    }
    const rss = await Promise.all(servers.map(async (s) => [s.name, await idleRss(s)] as const));
    for (const s of servers) await s.stop();
    const saveRss = await measureSaveRss(SAVE_RSS_GIB);
    const ratio = (client: string, kind: string): string =>
      (results[`${client}|${kind}|tsvirtd`] / results[`${client}|${kind}|libvirtd`]).toFixed(2);
    const md = [
      '# Remote call throughput: tsvirtd vs libvirtd',
      '',
      `Generated by \`node dist/bench/remote-calls.js ${SECONDS}\` on ${new Date().toISOString()}. Each cell is the median of ${ROUNDS}`,
      `runs of ${SECONDS} s of sequential calls (one call in flight per client) over a UNIX socket, both daemons serving their test driver`,
      '(`test+unix:///default?socket=...`), daemon and clients sharing the 2 cores; rounds interleave the two daemons.',
      '',
      '| client | calls | server | calls/s (median) | runs |',
      '|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      '| ratio tsvirtd / libvirtd | getVersion | lookupByName + info |',
      '|---|---|---|',
      `| libvirt-python client | ${ratio('libvirt-python', 'version')} | ${ratio('libvirt-python', 'lookup+info')} |`,
      `| tsvirt client | ${ratio('tsvirt', 'version')} | ${ratio('tsvirt', 'lookup+info')} |`,
      `| 8 concurrent libvirt-python clients | ${ratio('libvirt-python x8', 'version')} | ${ratio('libvirt-python x8', 'lookup+info')} |`,
      '',
      'Target (issue 9): tsvirtd >= 1.5x libvirtd with the same client, and with 8 concurrent clients; idle RSS <= 2x libvirtd.',
      '',
      '| daemon | RSS at start (MiB) | RSS idle after the runs above (MiB) | RSS with 100 idle tsvirt clients (MiB) |',
      '|---|---|---|---|',
      ...rss.map(([n, r]) => `| ${n} | ${startRss.get(n)!.toFixed(1)} | ${r.before.toFixed(1)} | ${r.after.toFixed(1)} |`),
      '',
      `tsvirtd (QEMU driver, \`qemu+unix:///session\`) saving and restoring a ${SAVE_RSS_GIB} GiB guest of random RAM for a remote`,
      "client: the daemon runs QEMU's migration and, for multi-file saves, relays and hashes the channels itself.",
      'RSS sampled every 50 ms during the call. Target (issue 9): <= 150 MiB during a 4 GiB parallel save.',
      '',
      '| call | daemon RSS before (MiB) | peak during (MiB) | wall s |',
      '|---|---|---|---|',
      ...saveRss.map((r) => `| ${r.call} | ${r.startMiB.toFixed(1)} | ${r.peakMiB.toFixed(1)} | ${r.seconds.toFixed(2)} |`),
      '',
      `Load average when the runs ended: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (the machine is shared; ratios come from interleaved rounds).`,
      '',
      '## Machine',
      '',
      '```',
      machine().trimEnd(),
      '```',
      '',
    ].join('\n');
    const out = path.resolve(__dirname, '../../bench/results/remote-calls.md');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, md);
    console.log(md);
  } finally {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
