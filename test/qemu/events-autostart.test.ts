/**
 * Domain events and autostart on real QEMU (one 64 MiB TCG guest, a second one only defined):
 * the events libvirt's QEMU driver raises for suspend/resume, a pause and a resume made behind
 * the driver's back (raw QMP), a reset and a save, seen in-process and by stock virsh and
 * tsvirsh through tsvirtd (the reboot and job-completed messages on the wire); and autostart
 * kept beside the config and honoured once per "boot" (a fresh run directory).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainEventId, DomainEventType, DomainState, ErrorCode, EventDetail, JobOperation, ListAllDomainsFlags, TypedParamType, type Domain, type DomainEventInfo } from '../../src';
import { qemuMonitorCommand } from '../../src/drivers/qemu';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { qemuPidsUnder, setupQemuEnv, smallGuestXML, teardownQemuEnv, type QemuTestEnv } from '../helpers/qemu-env';
import { startTestDaemon, type TestDaemon } from '../remote/daemon-helpers';
import { runTool } from '../remote/run-tool';

const TSVIRSH = path.join(__dirname, '..', '..', 'bin', 'tsvirsh.js');
let env: QemuTestEnv;
let d: TestDaemon;
let conn: Connect;
let dom: Domain;
const name = `ev-${process.pid}`;

beforeAll(async () => {
  env = setupQemuEnv('events');
  d = await startTestDaemon();
  conn = await Connect.open('qemu:///session');
  dom = await conn.defineXML(smallGuestXML(name, 64));
  await dom.create();
}, 60000);

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await d?.stop();
  teardownQemuEnv(env);
});

describe('QEMU domain events', () => {
  it('suspend/resume, an outside stop/cont, reset and save: in-process, and printed by virsh and tsvirsh over the wire', async () => {
    const remote = `qemu+unix:///session?socket=${d.rw}`;
    const watch = ['event', '--all', '--loop', '--timeout', '25'];
    const virsh = runTool('virsh', ['-c', remote, ...watch], { timeoutMs: 40000 });
    const tsvirsh = runTool('node', [TSVIRSH, '-c', remote, ...watch], { timeoutMs: 40000, env: process.env });
    const seen: DomainEventInfo[] = [];
    for (const id of [DomainEventId.LIFECYCLE, DomainEventId.REBOOT, DomainEventId.JOB_COMPLETED]) {
      await conn.domainEventRegisterAny(id, (ev) => seen.push(ev as DomainEventInfo), dom);
    }
    // Both watchers register 27 callbacks each through the daemon before anything happens.
    await waitFor(() => d.daemon.clientCount >= 2, 15000, 'both event watchers connected');
    await new Promise((r) => setTimeout(r, 2000));

    await dom.suspend();
    await dom.resume();
    await qemuMonitorCommand(dom.uuid, 'stop');
    await waitFor(async () => (await dom.getState()).state === DomainState.PAUSED, 5000, 'paused by raw stop');
    await qemuMonitorCommand(dom.uuid, 'cont');
    await waitFor(async () => (await dom.getState()).state === DomainState.RUNNING, 5000, 'running after raw cont');
    await dom.reset();
    const file = path.join(env.workDir, 'ev.save');
    await dom.save(file);
    await waitFor(() => seen.some((e) => e.eventId === DomainEventId.JOB_COMPLETED), 10000, 'job-completed');

    const lifecycle = seen.filter((e) => e.eventId === DomainEventId.LIFECYCLE) as Array<DomainEventInfo<DomainEventId.LIFECYCLE>>;
    const S = DomainEventType;
    expect(lifecycle.map((e) => [e.event, e.detail])).toEqual([
      [S.SUSPENDED, EventDetail.suspended.PAUSED],
      [S.RESUMED, EventDetail.resumed.UNPAUSED],
      [S.SUSPENDED, EventDetail.suspended.PAUSED],
      [S.RESUMED, EventDetail.resumed.UNPAUSED],
      [S.SUSPENDED, EventDetail.suspended.PAUSED],
      [S.STOPPED, EventDetail.stopped.SAVED],
    ]);
    // Every RESET QEMU reports is one reboot event: the reset, and the firmware's own resets
    // of a guest with nothing to boot, as many as came.
    const reboots = seen.filter((e) => e.eventId === DomainEventId.REBOOT);
    expect(reboots.length).toBeGreaterThanOrEqual(1);
    expect(reboots.every((e) => e.domain.name === name)).toBe(true);
    // job-completed comes after "stopped (saved)", with the statistics getJobStats reports.
    expect(seen[seen.length - 1].eventId).toBe(DomainEventId.JOB_COMPLETED);
    const job = seen[seen.length - 1] as DomainEventInfo<DomainEventId.JOB_COMPLETED>;
    const param = (f: string) => job.params.find((p) => p.field === f);
    expect(param('operation')).toEqual({ field: 'operation', type: TypedParamType.INT, value: JobOperation.SAVE });
    expect(param('success')).toEqual({ field: 'success', type: TypedParamType.BOOLEAN, value: true });
    expect(Number(param('data_total')?.value)).toBeGreaterThan(0);
    expect(param('time_elapsed')?.type).toBe(TypedParamType.ULLONG);

    const [v, t] = await Promise.all([virsh, tsvirsh]);
    expect(v.stderr).toBe('');
    const lc = (what: string) => `event 'lifecycle' for domain '${name}': ${what}`;
    const lines = v.stdout.split('\n');
    const jobAt = lines.indexOf(`event 'job-completed' for domain '${name}':`);
    const reboot = `event 'reboot' for domain '${name}'`;
    expect(lines.slice(0, jobAt).filter((l) => l !== reboot)).toEqual([
      lc('Suspended Paused'),
      lc('Resumed Unpaused'),
      lc('Suspended Paused'),
      lc('Resumed Unpaused'),
      lc('Suspended Paused'),
      lc('Stopped Saved'),
    ]);
    expect(lines.slice(0, jobAt).filter((l) => l === reboot)).toHaveLength(reboots.length);
    expect(lines.indexOf(reboot)).toBe(4);
    // virsh decoded every typed parameter of message 363 as the daemon encoded it.
    const printed = lines.slice(jobAt + 1).filter((l) => l.startsWith('\t'));
    expect(printed).toEqual(job.params.map((p) => `\t${p.field}: ${p.type === TypedParamType.BOOLEAN ? (p.value ? '1' : '0') : String(p.value)}`));
    expect(v.stdout).toContain(`event loop timed out\nevents received: ${7 + reboots.length}\n`);
    expect(v.code).toBe(0);
    // tsvirsh prints exactly what virsh prints for the same events.
    expect(t.stdout).toBe(v.stdout);
    expect(t.code).toBe(0);
  }, 90000);
});

describe('QEMU autostart', () => {
  const other = `evauto-${process.pid}`;
  const tsvirsh = (runDir: string, cmd: string) =>
    runTool('node', [TSVIRSH, '-c', 'qemu:///session', cmd], { timeoutMs: 60000, env: { ...process.env, XDG_RUNTIME_DIR: runDir } });

  it('is a link beside the config, listed, dropped on undefine; transient domains are refused', async () => {
    const a = await conn.defineXML(smallGuestXML(`${other}-x`, 64));
    expect(await a.getAutostart()).toBe(false);
    await a.setAutostart(true);
    const link = path.join(process.env.XDG_CONFIG_HOME as string, 'tsvirt', 'qemu', 'autostart', `${other}-x.xml`);
    expect(fs.readlinkSync(link)).toBe(path.join(process.env.XDG_CONFIG_HOME as string, 'tsvirt', 'qemu', `${other}-x.xml`));
    expect(await a.getAutostart()).toBe(true);
    expect((await conn.listAllDomains(ListAllDomainsFlags.AUTOSTART)).map((x) => x.name)).toEqual([`${other}-x`]);
    expect((await conn.listAllDomains(ListAllDomainsFlags.NO_AUTOSTART)).map((x) => x.name)).not.toContain(`${other}-x`);
    await a.undefine();
    expect(fs.existsSync(link)).toBe(false);
    // A transient domain: the saved guest restored keeps its definition, so make one from XML.
    const t = await conn.createXML(smallGuestXML(`${other}-t`, 64));
    const e = await virErrorOf(t.setAutostart(true));
    expect(e.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(e.message).toBe('Requested operation is not valid: cannot set autostart for transient domain');
    await t.destroy();
  }, 60000);

  it('starts autostart domains on the first open of a fresh run directory, once', async () => {
    const b = await conn.defineXML(smallGuestXML(other, 64));
    await b.setAutostart(true);
    const boot = path.join(env.root, 'boot2');
    fs.mkdirSync(boot, { mode: 0o700 });
    const first = await tsvirsh(boot, `domstate ${other}; domid ${other}`);
    expect(first.stderr).toBe('');
    expect(first.stdout.split('\n')[0]).toBe('running');
    const id = first.stdout.split('\n')[2];
    expect(qemuPidsUnder(boot)).toHaveLength(1);
    // The next open of the same boot starts nothing more: same guest, same id.
    const second = await tsvirsh(boot, `domid ${other}; destroy ${other}`);
    expect(second.stdout.split('\n')[0]).toBe(id);
    expect(qemuPidsUnder(boot)).toHaveLength(0);
    // Destroyed after the boot's autostart ran: a later open leaves it off.
    const third = await tsvirsh(boot, `domstate ${other}; dominfo ${other}`);
    expect(third.stdout).toMatch(/^shut off\n/);
    expect(third.stdout).toMatch(/Autostart: {6}enable\n/);
    expect(third.stdout).toContain('Security model: none\nSecurity DOI:   0\n');
    expect(qemuPidsUnder(boot)).toHaveLength(0);
    await b.undefine();
  }, 90000);
});
