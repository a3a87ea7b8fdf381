/**
 * tsvirtd's memory while it saves and restores a large guest for a remote client (issue 9's
 * "RSS during a 4 GiB parallel save through the daemon <= 150 MiB"): the guest's multifd
 * channels are relayed, hashed and written by the daemon process itself, so its resident set
 * is what the relay's buffers cost. The daemon's VmRSS is sampled every 50 ms during the calls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect } from '../src';
import { GIB, benchEnv, createFilledGuest, removeGuest, teardownBench } from './qemu-bench-guest';
import { rssMiB, startTsvirtd } from './remote-servers';

/** Peak and start RSS of the daemon over one call. */
export interface RssDuring {
  call: string;
  startMiB: number;
  peakMiB: number;
  seconds: number;
}

async function sampled(pid: number, call: string, fn: () => Promise<unknown>): Promise<RssDuring> {
  const startMiB = rssMiB(pid);
  let peakMiB = startMiB;
  const timer = setInterval(() => {
    peakMiB = Math.max(peakMiB, rssMiB(pid));
  }, 50);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peakMiB = Math.max(peakMiB, rssMiB(pid));
  return { call, startMiB, peakMiB, seconds: (performance.now() - t0) / 1000 };
}

/** Saves and restores a `gib` GiB random guest through tsvirtd with 4 channels; the daemon's RSS over each. */
export async function measureSaveRss(gib: number): Promise<RssDuring[]> {
  const env = benchEnv('remote-save-rss');
  const name = 'rss-guest';
  // The daemon serves the same session (XDG dirs of this process), so it finds the guest.
  const daemon = await startTsvirtd(env.root);
  const file = path.join(env.workDir, 'rss.img');
  try {
    await createFilledGuest(name, gib * GIB, { memfd: true });
    const conn = await Connect.open(`qemu+unix:///session?socket=${daemon.socket}`);
    try {
      const dom = await conn.lookupDomainByName(name);
      const out: RssDuring[] = [];
      for (const [label, params] of [['files, 4 channels', { 'parallel.channels': 4 }], ['single stream', {}]] as const) {
        out.push(await sampled(daemon.pid, `save: ${label}`, () => dom.saveParams({ file, ...params })));
        out.push(await sampled(daemon.pid, `restore: ${label}`, () => conn.restoreParams({ file })));
        for (const f of fs.readdirSync(env.workDir)) fs.rmSync(path.join(env.workDir, f), { force: true });
      }
      return out;
    } finally {
      await conn.close();
    }
  } finally {
    await removeGuest(name).catch(() => undefined);
    await daemon.stop();
    teardownBench(env);
  }
}
