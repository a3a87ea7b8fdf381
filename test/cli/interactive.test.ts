/**
 * The interactive shell on a real pseudo-terminal (driven by pty-driver.py, as a person types):
 * Ctrl-C during a save aborts the job and the shell stays; Tab completes commands, options and
 * domain names; history is kept between sessions in $XDG_CACHE_HOME/tsvirsh/history.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PTY_DRIVER, type PtyReport, type PtyStep } from './pty-session';
import { BIN, requireBuild } from './run-cli';

type Step = PtyStep;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirsh-pty-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeAll(() => requireBuild());

/** Runs tsvirsh `args` under a pty through `steps`; the report has the whole transcript. */
function onPty(args: readonly string[], steps: readonly Step[]): PtyReport {
  const spec = path.join(dir, `spec-${Date.now()}.json`);
  fs.writeFileSync(spec, JSON.stringify({ argv: [process.execPath, BIN, ...args], env: { XDG_CACHE_HOME: dir, TERM: 'xterm' }, steps }));
  const out = execFileSync('python3', [PTY_DRIVER, spec], { encoding: 'utf8', timeout: 60000 });
  return JSON.parse(out) as PtyReport;
}

/** The transcript without terminal control sequences. */
const plain = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');

const PROMPT = 'tsvirsh # ';

test('Ctrl-C during a save aborts the job, the guest keeps running and the shell stays', () => {
  const img = path.join(dir, 't.img');
  const r = onPty(['-c', 'test:///default?chunk_delay_ms=200'], [
    { expect: PROMPT },
    { send: `save test ${img} --verbose\r` },
    { expect: 'Save: \\[' },
    { send: '\x03' },
    { expect: "operation aborted.*tsvirsh # ", timeout: 20 },
    { send: 'domstate test --reason\r' },
    { expect: 'running \\(save canceled\\)' },
    { send: 'quit\r' },
  ]);
  const text = plain(r.transcript);
  expect({ ok: r.ok, failed: r.failed_step, text }).toEqual({ ok: true, failed: null, text: expect.any(String) });
  expect(text).toContain(`error: Failed to save domain 'test' to ${img}\nerror: operation aborted`);
  expect(r.status).toBe(0);
  // Nothing of the aborted image is left behind.
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('t.img'))).toEqual([]);
});

test('Ctrl-C at an idle prompt keeps the shell', () => {
  const r = onPty(['-c', 'test:///default'], [{ expect: PROMPT }, { send: 'dom' }, { send: '\x03' }, { expect: `\\^C\\r?\\n.*${PROMPT}` }, { send: 'uri\r' }, { expect: 'test:///default' }, { send: 'quit\r' }]);
  expect({ ok: r.ok, failed: r.failed_step, text: plain(r.transcript) }).toMatchObject({ ok: true, failed: null });
  expect(r.status).toBe(0);
});

test('Tab completes command names, options and domain names', () => {
  const r = onPty(['-c', 'test:///default'], [
    { expect: PROMPT },
    { send: 'doms\t', pause: 0.3 },
    { send: 'te\t', pause: 0.3 },
    { send: '--rea\t', pause: 0.3 },
    { send: '\r' },
    { expect: 'running \\(' },
    { send: 'quit\r' },
  ]);
  const text = plain(r.transcript);
  expect({ ok: r.ok, failed: r.failed_step }).toEqual({ ok: true, failed: null });
  expect(text).toMatch(new RegExp(`${PROMPT}domstate test --reason \nrunning \\(\\w+\\)\n`));
});

test('history is kept between sessions', () => {
  const hist = path.join(dir, 'tsvirsh', 'history');
  fs.rmSync(hist, { force: true });
  const first = onPty(['-c', 'test:///default'], [{ expect: PROMPT }, { send: 'echo remembered-line\r' }, { expect: 'remembered-line\r?\n' }, { send: 'quit\r' }]);
  expect({ ok: first.ok, text: plain(first.transcript) }).toMatchObject({ ok: true });
  expect(fs.readFileSync(hist, 'utf8')).toBe('echo remembered-line\nquit\n');
  // Up twice goes past "quit" to the echo line, which then runs again.
  const second = onPty(['-c', 'test:///default'], [{ expect: PROMPT }, { send: '\x1b[A', pause: 0.2 }, { send: '\x1b[A', pause: 0.2 }, { send: '\r' }, { expect: 'echo remembered-line[^\n]*\n+remembered-line\r?\n' }, { send: 'quit\r' }]);
  expect({ ok: second.ok, failed: second.failed_step, text: plain(second.transcript) }).toMatchObject({ ok: true, failed: null });
});
