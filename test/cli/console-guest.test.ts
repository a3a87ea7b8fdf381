/**
 * `tsvirsh console` on the real Linux guest, under pseudo-terminals (pty-driver.py types as a
 * person would): the guest's pty serial (serial1, where the workload mirrors its lines and echoes
 * what is typed) shows its ticks, a typed line comes back, `^]` ends tsvirsh with status 0 and
 * the guest runs on. As virsh 9.0 does with libvirtd: a second console while one is open is
 * refused ("Active console session exists for this domain", status 1), `--force` takes the
 * console over and the first tsvirsh ends with "stream had I/O failure" (status 1). Every
 * tsvirsh is its own process with its own QEMU driver, so the session is known across them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState } from '../../src';
import { bootLinuxGuest, ensureLinuxGuest, removeLinuxGuest, waitForTicks, type LinuxGuest } from '../helpers/linux-guest';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { waitFor } from '../../src/testing/wait';
import { PTY_DRIVER, type PtyReport, type PtyStep } from './pty-session';
import { BIN, requireBuild } from './run-cli';

const env = setupQemuEnv('console-guest');
let conn: Connect;
let guest: LinuxGuest;
let seq = 0;

/** Runs `tsvirsh -c qemu:///session ...args` under a pty through `steps`, without blocking. */
function onPty(args: readonly string[], steps: readonly PtyStep[]): Promise<PtyReport> {
  const spec = path.join(env.workDir, `pty-${++seq}.json`);
  fs.writeFileSync(spec, JSON.stringify({ argv: [process.execPath, BIN, '-c', 'qemu:///session', ...args], env: { TERM: 'xterm' }, steps }));
  return new Promise((resolve, reject) => {
    execFile('python3', [PTY_DRIVER, spec], { encoding: 'utf8', timeout: 120000, env: process.env }, (err, out) => {
      if (err) reject(err);
      else resolve(JSON.parse(out) as PtyReport);
    });
  });
}

/** The transcript without carriage returns. */
const plain = (s: string): string => s.replace(/\r/g, '');

beforeAll(async () => {
  requireBuild();
  conn = await Connect.open('qemu:///session');
  guest = await bootLinuxGuest(conn, { name: `con-${process.pid}`, files: ensureLinuxGuest(), dir: env.workDir, mib: 128, ptySerial: true });
}, 120000);

afterAll(async () => {
  if (guest) await removeLinuxGuest(guest);
  await conn?.close();
  teardownQemuEnv(env);
});

const BANNER = "Connected to domain 'NAME'\\r?\\nEscape character is \\^\\] \\(Ctrl \\+ \\]\\)";

describe('tsvirsh console on a running Linux guest', () => {
  it('shows the guest, types into it, leaves on ^] with the guest still running', async () => {
    const word = `typed-${process.pid}`;
    const r = await onPty(['console', guest.dom.name, '--devname', 'serial1'], [
      { expect: BANNER.replace('NAME', guest.dom.name) },
      { expect: 'TSVIRT-GUEST tick=\\d+ boot=', timeout: 30 },
      { send: `${word}\r` },
      { expect: `TSVIRT-GUEST echo ${word}\\r?\\n`, timeout: 30 },
      { send: '\x1d' },
    ]);
    expect({ ok: r.ok, failed: r.failed_step, status: r.status, text: plain(r.transcript) }).toEqual({ ok: true, failed: null, status: 0, text: expect.any(String) });
    expect(plain(r.transcript)).not.toContain('error:');
    expect((await guest.dom.getState()).state).toBe(DomainState.RUNNING);
    await waitForTicks(guest, 2);
  }, 90000);

  it('a second console is refused; --force takes over and the first ends with an I/O failure', async () => {
    const name = guest.dom.name;
    const lease = path.join(env.runDir, `${guest.dom.uuid}.console`);
    const first = onPty(['console', name, '--devname', 'serial1'], [
      { expect: BANNER.replace('NAME', name) },
      { expect: 'TSVIRT-GUEST tick=\\d+', timeout: 30 },
      { expect: 'error: stream had I/O failure', timeout: 60 },
    ]);
    // The first session is open once its lease is written (it reads ticks before that matters).
    await waitFor(() => fs.existsSync(lease), 30000, 'the first console session');
    const second = await onPty(['console', name, '--devname', 'serial1'], [{ expect: 'Active console session exists', timeout: 20 }]);
    expect({ ok: second.ok, status: second.status }).toEqual({ ok: true, status: 1 });
    expect(plain(second.transcript)).toContain(`Connected to domain '${name}'\nEscape character is ^] (Ctrl + ])\nerror: operation failed: Active console session exists for this domain\n`);
    const word = `forced-${process.pid}`;
    const forced = await onPty(['console', name, '--devname', 'serial1', '--force'], [
      { expect: BANNER.replace('NAME', name) },
      { expect: 'TSVIRT-GUEST tick=\\d+', timeout: 30 },
      { send: `${word}\r` },
      { expect: `TSVIRT-GUEST echo ${word}\\r?\\n`, timeout: 30 },
      { send: '\x1d' },
    ]);
    expect({ ok: forced.ok, failed: forced.failed_step, status: forced.status }).toEqual({ ok: true, failed: null, status: 0 });
    const r1 = await first;
    expect({ ok: r1.ok, failed: r1.failed_step, status: r1.status }).toEqual({ ok: true, failed: null, status: 1 });
    // Nothing the forced session typed reached the replaced one.
    expect(plain(r1.transcript)).not.toContain(word);
    // The console is free again after both ended, and the guest ran through it all.
    expect(fs.existsSync(lease)).toBe(false);
    expect((await guest.dom.getState()).state).toBe(DomainState.RUNNING);
    await waitForTicks(guest, 2);
  }, 120000);
});
