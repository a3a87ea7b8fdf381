/**
 * The on-disk record of QEMU probes: a second process asks the disk, not QEMU; a changed
 * binary, a damaged or wrongly shaped record, or a failed probe never yields a stale answer;
 * an unwritable cache only costs the probe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capabilitiesCacheDir, isStringList, persisted, persistedSync, setCapabilitiesCacheDir } from '../../src/drivers/qemu/capabilities-cache';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caps-cache-'));
beforeEach(() => {
  setCapabilitiesCacheDir(path.join(dir, `cache-${Math.random().toString(36).slice(2)}`, 'tsvirt', 'qemu', 'capabilities'));
});
afterAll(() => {
  setCapabilitiesCacheDir(null);
  fs.rmSync(dir, { recursive: true, force: true });
});

function fakeBinary(): string {
  const bin = path.join(dir, `qemu-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 });
  return bin;
}

/** A probe that counts its runs and answers `answer`. */
function counting(answer: string[]): { probe: () => Promise<string[]>; runs: () => number } {
  let n = 0;
  return { probe: async () => (n++, answer), runs: () => n };
}

test('a recorded answer is reused; the record is private to the user', async () => {
  const bin = fakeBinary();
  const p = counting(['mapped-ram', 'multifd']);
  expect(await persisted('caps', bin, isStringList, p.probe)).toEqual(['mapped-ram', 'multifd']);
  expect(await persisted('caps', bin, isStringList, p.probe)).toEqual(['mapped-ram', 'multifd']);
  expect(p.runs()).toBe(1);
  const files = fs.readdirSync(capabilitiesCacheDir());
  expect(files).toHaveLength(1);
  expect(fs.statSync(capabilitiesCacheDir()).mode & 0o777).toBe(0o700);
  expect(fs.statSync(path.join(capabilitiesCacheDir(), files[0])).mode & 0o777).toBe(0o600);
  // Another question about the same binary has its own record.
  expect(await persisted('other', bin, isStringList, async () => ['x'])).toEqual(['x']);
});

test('a binary replaced or touched is probed again', async () => {
  const bin = fakeBinary();
  expect(await persisted('caps', bin, isStringList, async () => ['old'])).toEqual(['old']);
  fs.writeFileSync(bin, '#!/bin/sh\n# rebuilt\n');
  expect(await persisted('caps', bin, isStringList, async () => ['new'])).toEqual(['new']);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(bin, later, later);
  expect(await persisted('caps', bin, isStringList, async () => ['touched'])).toEqual(['touched']);
});

test('a damaged or wrongly shaped record is probed again, then replaced', async () => {
  const bin = fakeBinary();
  await persisted('caps', bin, isStringList, async () => ['a']);
  const file = path.join(capabilitiesCacheDir(), fs.readdirSync(capabilitiesCacheDir())[0]);
  fs.writeFileSync(file, '{"stamp": ');
  expect(await persisted('caps', bin, isStringList, async () => ['b'])).toEqual(['b']);
  const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { value: unknown };
  expect(rec.value).toEqual(['b']);
  fs.writeFileSync(file, JSON.stringify({ ...rec, value: [1, 2] }));
  expect(await persisted('caps', bin, isStringList, async () => ['c'])).toEqual(['c']);
});

test('a failed probe records nothing; a missing binary is never cached', async () => {
  const bin = fakeBinary();
  await expect(persisted('caps', bin, isStringList, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
  expect(fs.existsSync(capabilitiesCacheDir())).toBe(false);
  const gone = path.join(dir, 'no-such-qemu');
  const p = counting(['z']);
  await persisted('caps', gone, isStringList, p.probe);
  await persisted('caps', gone, isStringList, p.probe);
  expect(p.runs()).toBe(2);
});

test('an unwritable cache directory costs only the probe', async () => {
  const bin = fakeBinary();
  const blocked = path.join(dir, `blocked-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(blocked, 'a file where the cache directory would be');
  setCapabilitiesCacheDir(path.join(blocked, 'tsvirt'));
  const p = counting(['y']);
  expect(await persisted('caps', bin, isStringList, p.probe)).toEqual(['y']);
  expect(await persisted('caps', bin, isStringList, p.probe)).toEqual(['y']);
  expect(p.runs()).toBe(2);
});

test('the synchronous form shares the records and the staleness rules', async () => {
  const bin = fakeBinary();
  let runs = 0;
  const probe = (): string[] => (runs++, ['pc-i440fx-10.0']);
  expect(persistedSync('machines', bin, isStringList, probe)).toEqual(['pc-i440fx-10.0']);
  expect(persistedSync('machines', bin, isStringList, probe)).toEqual(['pc-i440fx-10.0']);
  expect(runs).toBe(1);
  expect(await persisted('machines', bin, isStringList, async () => ['other'])).toEqual(['pc-i440fx-10.0']);
  fs.writeFileSync(bin, '#!/bin/sh\n# rebuilt\n');
  expect(persistedSync('machines', bin, isStringList, () => ['pc-i440fx-11.0'])).toEqual(['pc-i440fx-11.0']);
  expect(() => persistedSync('failing', bin, isStringList, () => { throw new Error('no QEMU'); })).toThrow('no QEMU');
  expect(fs.readdirSync(capabilitiesCacheDir()).filter((f) => f.startsWith('failing'))).toHaveLength(0);
});

test('records another user could have written are not believed; root ignores HOME and XDG_CACHE_HOME', async () => {
  const bin = fakeBinary();
  expect(await persisted('caps', bin, isStringList, async () => ['mine'])).toEqual(['mine']);
  fs.chmodSync(capabilitiesCacheDir(), 0o777);
  expect(await persisted('caps', bin, isStringList, async () => ['probed'])).toEqual(['probed']);
  fs.chmodSync(capabilitiesCacheDir(), 0o700);
  const rec = path.join(capabilitiesCacheDir(), fs.readdirSync(capabilitiesCacheDir())[0]);
  fs.chmodSync(rec, 0o666);
  expect(await persisted('caps', bin, isStringList, async () => ['again'])).toEqual(['again']);
  setCapabilitiesCacheDir(null);
  const env = { HOME: '/home/someone', XDG_CACHE_HOME: '/home/someone/.cache' };
  if (process.geteuid?.() === 0) expect(capabilitiesCacheDir(env)).toBe('/var/cache/tsvirt/qemu/capabilities');
  else expect(capabilitiesCacheDir(env)).toBe('/home/someone/.cache/tsvirt/qemu/capabilities');
});
