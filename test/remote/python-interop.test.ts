/**
 * libvirt-python (Debian's python3-libvirt 9.0, /usr/bin/python3) against tsvirtd: typed
 * parameter save/restore (procedures 440/441), job statistics, and errors arriving with
 * libvirt's code and domain.
 */
import path from 'node:path';
import { Connect, DomainState, ErrorCode, ErrorDomain, RunningReason } from '../../src';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { runTool } from './run-tool';

let d: TestDaemon;
let holder: Connect;
let uri: string;
const xml = (name: string): string =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;

/** Runs a Python snippet with `conn` open on tsvirtd; the snippet prints one JSON line. */
async function py(body: string, env: Record<string, string> = {}): Promise<any> {
  const script = `import json, sys, libvirt\nlibvirt.registerErrorHandler(lambda *a: None, None)\nconn = libvirt.open(sys.argv[1])\n${body}\n`;
  const r = await runTool('/usr/bin/python3', ['-c', script, uri], { env });
  if (r.code !== 0) throw new Error(`python failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

beforeAll(async () => {
  d = await startTestDaemon();
  uri = `test+unix:///default?socket=${d.rw}`;
  holder = await Connect.open(uri);
});
afterAll(async () => {
  await holder.close();
  await d.stop();
});

describe('libvirt-python against tsvirtd', () => {
  it('saveParams / restoreParams with typed parameters, then jobStats', async () => {
    const dom = await holder.defineXML(xml('py-params'));
    await dom.create();
    const file = path.join(d.dir, 'py-params.img');
    const out = await py(
      `d = conn.lookupByName('py-params')
d.saveParams({libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: sys.argv[2]}, libvirt.VIR_DOMAIN_SAVE_BYPASS_CACHE)
after_save = d.state()
conn.restoreParams({libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: sys.argv[2]}, 0)
after_restore = d.state()
stats = d.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
print(json.dumps({'save': after_save, 'restore': after_restore, 'stats': stats}))`.replaceAll('sys.argv[2]', JSON.stringify(file)),
    );
    expect(out.save).toEqual([DomainState.SHUTOFF, 5]);
    expect(out.restore).toEqual([DomainState.RUNNING, RunningReason.RESTORED]);
    expect(out.stats.type).toBe(3);
    expect(out.stats.operation).toBe(3);
    expect(typeof out.stats.time_elapsed).toBe('number');
  });

  it('returns errors with libvirt code and domain (unknown parameter -> 74)', async () => {
    const dom = await holder.defineXML(xml('py-errors'));
    await dom.create();
    const out = await py(`
d = conn.lookupByName('py-errors')
res = {}
for key, call in [
    ('bogus', lambda: d.saveParams({'bogus': 'x', libvirt.VIR_DOMAIN_SAVE_PARAM_FILE: '/tmp/py-bogus.img'}, 0)),
    ('nodom', lambda: conn.lookupByName('no-such-domain')),
    ('inactive', lambda: conn.lookupByName('py-errors').abortJob()),
]:
    try:
        call()
        res[key] = None
    except libvirt.libvirtError as e:
        res[key] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
print(json.dumps(res))`);
    expect(out.bogus[0]).toBe(ErrorCode.ARGUMENT_UNSUPPORTED);
    expect(out.bogus[1]).toBe(ErrorDomain.DOMAIN);
    expect(out.bogus[2]).toBe("argument unsupported: parameter 'bogus' not supported");
    expect(out.nodom.slice(0, 2)).toEqual([ErrorCode.NO_DOMAIN, ErrorDomain.TEST]);
    expect(out.nodom[2]).toBe("Domain not found: no domain with matching name 'no-such-domain'");
    expect(out.inactive[0]).toBe(ErrorCode.OPERATION_INVALID);
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
  });

  it('jobStats during a slow save from a second client shows progress', async () => {
    const dom = await holder.defineXML(xml('py-job').replace('64', '2048'));
    await dom.create();
    const slow = await Connect.open(`${uri}&chunk_delay_ms=20`);
    const file = path.join(d.dir, 'py-job.img');
    const saving = (await slow.lookupDomainByName('py-job')).save(file);
    try {
      const out = await py(`
import time
d = conn.lookupByName('py-job')
for _ in range(200):
    s = d.jobStats()
    if s.get('data_processed', 0) > 0:
        break
    time.sleep(0.02)
print(json.dumps(s))`);
      expect([1, 2]).toContain(out.type);
      expect(out.operation).toBe(2);
      expect(out.data_processed).toBeGreaterThan(0);
      expect(out.data_total).toBeGreaterThanOrEqual(out.data_processed);
    } finally {
      await (await slow.lookupDomainByName('py-job')).abortJob().catch(() => undefined);
      await saving.catch(() => undefined);
      await slow.close();
    }
  });
});
