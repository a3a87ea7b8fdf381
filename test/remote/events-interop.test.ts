/**
 * Domain events over the wire, with Debian's real libvirtd (test driver) as the oracle: stock
 * `virsh event --all --loop` prints the same lines against tsvirtd as against libvirtd for the
 * same actions, tsvirsh's `event` prints what virsh prints, libvirt-python's
 * domainEventRegisterAny (with and without a domain filter) sees the same events from both, and
 * tsvirt's remote driver receives filtered events from both.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainEventId, DomainEventType, ErrorCode, type DomainEventInfo } from '../../src';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { startLibvirtd, type RealLibvirtd } from './libvirtd-helpers';
import { runTool, type ToolResult } from './run-tool';

const TSVIRSH = path.join(__dirname, '..', '..', 'bin', 'tsvirsh.js');
let lv: RealLibvirtd;
let ts: TestDaemon;
let xmlFile: string;

beforeAll(async () => {
  [lv, ts] = await Promise.all([startLibvirtd(), startTestDaemon()]);
  xmlFile = path.join(ts.dir, 'evx.xml');
  fs.writeFileSync(xmlFile, `<domain type='test'><name>evx</name><uuid>3f1c0e52-9a4e-4d7b-8b61-0c2a5d7e9f11</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`);
}, 30000);
afterAll(async () => {
  await ts?.stop();
  await lv?.stop();
});

const uriOf = (sock: string) => `test+unix:///default?socket=${sock}`;

/** Every action whose events libvirt's test driver and tsvirt's must announce alike. */
const ACTIONS = [
  'suspend test; resume test; reboot test; reset test',
  `save test ${'@DIR@'}/t.save; restore ${'@DIR@'}/t.save`,
  'shutdown test; start test; destroy test; autostart test; autostart --disable test',
  'start test; managedsave test; start test; destroy test',
  `define ${'@XML@'}; define ${'@XML@'}; start evx; undefine evx; destroy evx`,
];

/**
 * Starts `CLIENT event ARGS` on `uri` for each client, waits until they listen (callbacks are
 * registered before anything is printed, so a short settle suffices), runs ACTIONS with stock
 * virsh, and returns what each watcher printed.
 */
async function watchActions(uri: string, dir: string, clients: string[][], args: string[]): Promise<ToolResult[]> {
  const watchers = clients.map((c) => runTool(c[0], [...c.slice(1), '-c', uri, 'event', ...args], { timeoutMs: 30000, env: process.env }));
  await new Promise((r) => setTimeout(r, 1500));
  for (const a of ACTIONS) {
    const r = await runTool('virsh', ['-c', uri, a.replaceAll('@DIR@', dir).replaceAll('@XML@', xmlFile)]);
    expect(r.stderr).toBe('');
  }
  return Promise.all(watchers);
}

describe('virsh event: tsvirtd as libvirtd', () => {
  it('prints the same lines for the same actions, and tsvirsh prints what virsh prints', async () => {
    const args = ['--all', '--loop', '--timeout', '6'];
    const [[real], [ours, oursTsvirsh]] = await Promise.all([
      watchActions(uriOf(lv.rw), lv.dir, [['virsh']], args),
      watchActions(uriOf(ts.rw), ts.dir, [['virsh'], ['node', TSVIRSH]], args),
    ]);
    expect(real.stderr).toBe('');
    expect(ours.stderr).toBe('');
    const lc = (what: string, dom = 'test') => `event 'lifecycle' for domain '${dom}': ${what}`;
    expect(real.stdout.split('\n')).toEqual([
      lc('Suspended Paused'),
      lc('Resumed Unpaused'),
      lc('Stopped Saved'),
      lc('Started Restored'),
      lc('Stopped Shutdown'),
      lc('Started Booted'),
      lc('Stopped Destroyed'),
      lc('Started Booted'),
      lc('Stopped Saved'),
      lc('Started Booted'),
      lc('Stopped Destroyed'),
      lc('Defined Added', 'evx'),
      lc('Defined Updated', 'evx'),
      lc('Started Booted', 'evx'),
      lc('Undefined Removed', 'evx'),
      lc('Stopped Destroyed', 'evx'),
      'event loop timed out',
      'events received: 16',
      '',
      '',
    ]);
    expect(ours.stdout).toBe(real.stdout);
    expect(ours.code).toBe(real.code);
    expect(oursTsvirsh.stdout).toBe(real.stdout);
    expect(oursTsvirsh.code).toBe(real.code);
  }, 60000);

  it('tsvirsh event with --domain, --event and --timestamp prints as virsh does', async () => {
    const uri = uriOf(ts.rw);
    const holder = await Connect.open(uri);
    try {
      const args = ['--domain', 'test', '--event', 'lifecycle', '--loop', '--timestamp', '--timeout', '3'];
      const virsh = runTool('virsh', ['-c', uri, 'event', ...args], { timeoutMs: 20000 });
      const ours = runTool('node', [TSVIRSH, '-c', uri, 'event', ...args], { timeoutMs: 20000, env: process.env });
      await new Promise((r) => setTimeout(r, 1500));
      const other = await holder.defineXML(fs.readFileSync(xmlFile, 'utf8'));
      const test = await holder.lookupDomainByName('test');
      await test.suspend();
      await test.resume();
      await other.undefine();
      const [v, t] = await Promise.all([virsh, ours]);
      const strip = (s: string) => s.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: /gm, '<ts>: ');
      expect(strip(v.stdout)).toBe(
        "<ts>: event 'lifecycle' for domain 'test': Suspended Paused\n<ts>: event 'lifecycle' for domain 'test': Resumed Unpaused\nevent loop timed out\nevents received: 2\n\n",
      );
      expect(strip(t.stdout)).toBe(strip(v.stdout));
      expect([v.code, t.code]).toEqual([0, 0]);
    } finally {
      await holder.close();
    }
  }, 30000);

  it('one-shot, list, no events and option errors end as virsh ends', async () => {
    const uri = uriOf(ts.rw);
    const cases: string[][] = [
      ['--list'],
      ['--all', '--timeout', '1'],
      [],
      ['--event', 'bogus'],
      ['--all', '--event', 'lifecycle'],
      ['--list', '--all'],
      ['--all', '--timeout', '0'],
      ['--all', '--domain', 'nosuch'],
    ];
    for (const c of cases) {
      const [v, t] = await Promise.all([runTool('virsh', ['-c', uri, 'event', ...c]), runTool('node', [TSVIRSH, '-c', uri, 'event', ...c], { env: process.env })]);
      expect({ c, out: t.stdout, err: t.stderr, code: t.code }).toEqual({ c, out: v.stdout, err: v.stderr, code: v.code });
    }
    // One-shot: the first event ends the wait (exit 0).
    const holder = await Connect.open(uri);
    const one = runTool('node', [TSVIRSH, '-c', uri, 'event', '--event', 'lifecycle'], { env: process.env });
    await new Promise((r) => setTimeout(r, 1500));
    const test = await holder.lookupDomainByName('test');
    await test.suspend();
    await test.resume();
    const r = await one;
    await holder.close();
    expect(r.stdout).toBe("event 'lifecycle' for domain 'test': Suspended Paused\nevents received: 1\n\n");
    expect(r.code).toBe(0);
  }, 60000);
});

/** Starts `cmd args`; `interrupt()` sends SIGINT and resolves with what it printed and its status. */
function startWatcher(cmd: string, args: string[]): { interrupt(): Promise<ToolResult> } {
  const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (x: string) => (stdout += x));
  child.stderr.setEncoding('utf8').on('data', (x: string) => (stderr += x));
  const closed = new Promise<ToolResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return {
    interrupt() {
      child.kill('SIGINT');
      return closed;
    },
  };
}

describe('event ended by Ctrl-C', () => {
  it('tsvirsh ends as virsh does: "event loop interrupted", the count, exit 0 only with events', async () => {
    const uri = uriOf(ts.rw);
    const holder = await Connect.open(uri);
    try {
      const test = await holder.lookupDomainByName('test');
      for (const withEvents of [false, true]) {
        const watchers = [startWatcher('virsh', ['-c', uri, 'event', '--all', '--loop']), startWatcher('node', [TSVIRSH, '-c', uri, 'event', '--all', '--loop'])];
        await new Promise((r) => setTimeout(r, 1500));
        if (withEvents) {
          await test.suspend();
          await test.resume();
          await new Promise((r) => setTimeout(r, 300));
        }
        const [v, t] = await Promise.all(watchers.map((w) => w.interrupt()));
        const seen = withEvents ? "event 'lifecycle' for domain 'test': Suspended Paused\nevent 'lifecycle' for domain 'test': Resumed Unpaused\n" : '';
        expect(v).toEqual({ code: withEvents ? 0 : 1, stdout: `${seen}event loop interrupted\nevents received: ${withEvents ? 2 : 0}\n\n`, stderr: '' });
        expect(t).toEqual(v);
      }
    } finally {
      await holder.close();
    }
  }, 30000);
});

describe('libvirt-python domainEventRegisterAny', () => {
  const script = `
import json, sys, time, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
out = []
def lifecycle(c, dom, event, detail, tag):
    out.append([tag, dom.name(), event, detail])
test = conn.lookupByName('test')
a = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, 'all')
b = conn.domainEventRegisterAny(test, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, 'test-only')
c = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, lambda *x: out.append(['job']), None)
libvirt.virEventAddTimeout(50, lambda t, o: None, None)
x = conn.defineXML(open(sys.argv[2]).read())
x.create()
test.suspend()
test.resume()
x.destroy()
x.undefine()
end = time.time() + 5
while len(out) < 8 and time.time() < end:
    libvirt.virEventRunDefaultImpl()
conn.domainEventDeregisterAny(b)
test.suspend()
test.resume()
end = time.time() + 1
while time.time() < end:
    libvirt.virEventRunDefaultImpl()
for cb in (a, c):
    conn.domainEventDeregisterAny(cb)
print(json.dumps(out))
`;
  it('sees the same events from tsvirtd as from libvirtd, filtered per callback', async () => {
    const run = async (sock: string) => {
      const r = await runTool('/usr/bin/python3', ['-c', script, uriOf(sock), xmlFile]);
      if (r.code !== 0) throw new Error(`python failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout.trim());
    };
    const [real, ours] = await Promise.all([run(lv.rw), run(ts.rw)]);
    const E = DomainEventType;
    expect(real).toEqual([
      ['all', 'evx', E.DEFINED, 0],
      ['all', 'evx', E.STARTED, 0],
      ['all', 'test', E.SUSPENDED, 0],
      ['test-only', 'test', E.SUSPENDED, 0],
      ['all', 'test', E.RESUMED, 0],
      ['test-only', 'test', E.RESUMED, 0],
      ['all', 'evx', E.STOPPED, 1],
      ['all', 'evx', E.UNDEFINED, 0],
      ['all', 'test', E.SUSPENDED, 0],
      ['all', 'test', E.RESUMED, 0],
    ]);
    expect(ours).toEqual(real);
  }, 30000);
});

describe("tsvirt's remote driver receives events", () => {
  for (const which of ['libvirtd', 'tsvirtd'] as const) {
    it(`from ${which}, filtered by domain, until deregistered`, async () => {
      const conn = await Connect.open(uriOf(which === 'libvirtd' ? lv.rw : ts.rw));
      try {
        const test = await conn.lookupDomainByName('test');
        const all: string[] = [];
        const mine: string[] = [];
        const text = (ev: DomainEventInfo<DomainEventId.LIFECYCLE>) => `${ev.domain.name} ${ev.event} ${ev.detail}`;
        const idAll = await conn.domainEventRegisterAny(DomainEventId.LIFECYCLE, (ev) => all.push(text(ev)));
        const idMine = await conn.domainEventRegisterAny(DomainEventId.LIFECYCLE, (ev) => mine.push(text(ev)), test);
        // Ids a driver never raises are accepted (as virsh event --all needs), unknown ones refused.
        const idTray = await conn.domainEventRegisterAny(DomainEventId.TRAY_CHANGE, () => undefined);
        const bad = await virErrorOf(conn.domainEventRegisterAny(27 as DomainEventId, () => undefined));
        expect(bad.code).toBe(ErrorCode.INVALID_ARG);
        expect(bad.message).toBe('invalid argument: eventID in virConnectDomainEventRegisterAny must be less than 27');
        const x = await conn.defineXML(fs.readFileSync(xmlFile, 'utf8'));
        await test.suspend();
        await test.resume();
        await x.undefine();
        await waitFor(() => all.length >= 4, 5000, 'four events');
        expect(all).toEqual(['evx 0 0', 'test 3 0', 'test 4 0', 'evx 1 0']);
        expect(mine).toEqual(['test 3 0', 'test 4 0']);
        await conn.domainEventDeregisterAny(idMine);
        await conn.domainEventDeregisterAny(idTray);
        await test.suspend();
        await test.resume();
        await waitFor(() => all.length >= 6, 5000, 'two more events');
        expect(mine).toHaveLength(2);
        await conn.domainEventDeregisterAny(idAll);
        expect((await virErrorOf(conn.domainEventDeregisterAny(idAll))).code).toBe(ErrorCode.INVALID_ARG);
      } finally {
        await conn.close();
      }
    }, 30000);
  }
});
