/**
 * tsvirtd as a process: config file and flags, socket modes, pid file, SIGTERM aborting a
 * running save before exit, `--stdio`, and the ssh transport through a stand-in `ssh`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect, ErrorCode } from '../../src';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { spawnTsvirtd, writeLauncher, type DaemonProcess } from './process-helpers';

let dir: string;
const children: DaemonProcess[] = [];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirtd-proc-'));
});
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const xml = (name: string, mib: number): string =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>${mib}</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;

describe('tsvirtd process', () => {
  it('honours config and flags, and SIGTERM aborts a running save, then cleans up', async () => {
    const sockDir = path.join(dir, 'sock');
    const pid = path.join(dir, 'tsvirtd.pid');
    const conf = path.join(dir, 'tsvirtd.conf');
    fs.writeFileSync(conf, '# test config\nunix_sock_ro_perms = "0644"\nmax_client_requests = 2\nkeepalive_interval = 5\n');
    const d = await spawnTsvirtd(['--socket-dir', sockDir, '--pid-file', pid, '--config', conf]);
    children.push(d);
    expect(fs.readFileSync(pid, 'utf8').trim()).toBe(String(d.child.pid));
    expect(fs.statSync(path.join(sockDir, 'libvirt-sock')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(sockDir, 'libvirt-sock-ro')).mode & 0o777).toBe(0o644);

    const conn = await Connect.open(`test+unix:///default?socket=${sockDir}/libvirt-sock&chunk_delay_ms=40`);
    const dom = await conn.defineXML(xml('sigterm', 2048));
    await dom.create();
    const saving = dom.save(path.join(dir, 'sigterm.img'));
    saving.catch(() => undefined);
    await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, 10000, 'save progress');
    d.child.kill('SIGTERM');
    const e = await virErrorOf(saving);
    expect(e.code).toBe(ErrorCode.OPERATION_ABORTED);
    expect(await d.exited).toBe(0);
    expect(fs.existsSync(pid)).toBe(false);
    expect(fs.existsSync(path.join(sockDir, 'libvirt-sock'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'sigterm.img'))).toBe(false);
    await conn.close().catch(() => undefined);
  }, 40000);

  it('refuses to start over a live pid file and reports bad options', async () => {
    const pid = path.join(dir, 'live.pid');
    fs.writeFileSync(pid, `${process.pid}\n`);
    const d = await spawnTsvirtd(['--socket-dir', path.join(dir, 'sock2'), '--pid-file', pid], false);
    expect(await d.exited).toBe(1);
    expect(d.stderr()).toContain(`names running process ${process.pid}`);
    const bad = await spawnTsvirtd(['--bogus'], false);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain("unknown option '--bogus'");
  }, 30000);

  it('serves one client over ssh (a stand-in ssh running tsvirtd --stdio)', async () => {
    const launcher = writeLauncher(dir);
    const fakeSsh = path.join(dir, 'fake-ssh');
    const argsLog = path.join(dir, 'ssh-args');
    // Records its arguments, skips the options up to `--` and the host, runs the command.
    fs.writeFileSync(
      fakeSsh,
      `#!/bin/sh\necho "$@" > ${argsLog}\nwhile [ "$1" != "--" ]; do shift; done\nshift 2\nexec sh -c "$*"\n`,
      { mode: 0o755 },
    );
    const conn = await Connect.open(`test+ssh://alice@farhost:2222/default?command=${fakeSsh}&tsvirtd=${launcher}`);
    try {
      expect((await conn.listAllDomains()).map((d) => d.name)).toContain('test');
      const dom = await conn.lookupDomainByName('test');
      await dom.suspend();
      expect((await dom.getState()).state).toBe(3);
    } finally {
      await conn.close();
    }
    expect(fs.readFileSync(argsLog, 'utf8')).toBe(`-p 2222 -l alice -T -e none -- farhost ${launcher} --stdio\n`);
    const ro = await Connect.openReadOnly(`test+ssh://farhost/default?command=${fakeSsh}&tsvirtd=${launcher}`);
    try {
      const e = await virErrorOf((await ro.lookupDomainByName('test')).destroy());
      expect(e.code).toBe(ErrorCode.OPERATION_DENIED);
    } finally {
      await ro.close();
    }
    expect(fs.readFileSync(argsLog, 'utf8')).toContain('--stdio --readonly');
  }, 40000);

  it('fails with the transport error when ssh cannot run the daemon', async () => {
    const failing = path.join(dir, 'failing-ssh');
    fs.writeFileSync(failing, '#!/bin/sh\necho "ssh: Could not resolve hostname nohost" >&2\nexit 255\n', { mode: 0o755 });
    const e = await virErrorOf(Connect.open(`test+ssh://nohost/default?command=${failing}`));
    expect(e.message).toContain('Could not resolve hostname nohost');
  });
});
