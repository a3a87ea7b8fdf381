/**
 * tsvirsh save / restore / managedsave / job commands, run as a child process against the
 * in-process test driver (one process, one connection per command string).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTest, requireBuild } from './run-cli';

let dir: string;
beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirsh-save-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tsvirsh save and restore', () => {
  test("the issue's chain: parallel save with progress, list, restore, domstate --reason", async () => {
    const img = path.join(dir, 't.img');
    const r = await onTest(`save test ${img} --parallel-channels 4 --verbose; list --all; domstate test --reason; restore ${img}; domstate test --reason`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `\nDomain 'test' saved to ${img}\n\n` +
        ' Id   Name   State\n-----------------------\n -    test   shut off\n\n' +
        'shut off (saved)\n\n' +
        `Domain restored from ${img}\n\n` +
        'running (restored)\n\n',
    );
    expect(r.stderr.trimEnd().split('\n').pop()).toBe('Save: [100 %]');
    for (const k of [1, 2, 3, 4]) expect(existsSync(`${img}.${k}`)).toBe(true);
    expect(existsSync(`${img}.5`)).toBe(false);
  });

  test('--verbose prints one progress line per change when stderr is not a terminal', async () => {
    const img = path.join(dir, 'progress.img');
    const r = await onTest(`save test ${img} --verbose`, 'test:///default?chunk_delay_ms=40');
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^Save: \[[ \d]{3} %\]$/);
    const pcts = lines.map((l) => Number(/\[\s*(\d+) %\]/.exec(l)![1]));
    expect(pcts[pcts.length - 1]).toBe(100);
    // 2 MiB in 64 KiB chunks at 40 ms each lasts > 1 s: the 500 ms poll sees the job running.
    expect(pcts.length).toBeGreaterThanOrEqual(2);
    expect(pcts[0]).toBeLessThan(100);
    expect([...pcts].sort((a, b) => a - b)).toEqual(pcts);
    expect(new Set(pcts).size).toBe(pcts.length);
  });

  test('without --verbose nothing is printed on stderr', async () => {
    const r = await onTest(`save test ${path.join(dir, 'quiet.img')}`);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  test('--running with --paused is refused by the library with its message', async () => {
    const img = path.join(dir, 'rp.img');
    const r = await onTest(`save test ${img} --running --paused`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('\n');
    expect(r.stderr).toBe(
      `error: Failed to save domain 'test' to ${img}\n` +
        "error: Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive\n",
    );
    const rr = await onTest(`save test ${img}; restore ${img} --running --paused`);
    expect(rr.code).toBe(1);
    expect(rr.stderr).toBe(
      `error: Failed to restore domain from ${img}\n` +
        "error: Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive\n",
    );
  });

  test('restore of a missing image reports the library error', async () => {
    const img = path.join(dir, 'nonexistent.img');
    const r = await onTest(`restore ${img}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: Failed to restore domain from ${img}\nerror: cannot read domain image '${img}': No such file or directory\n`);
  });

  test('saving a domain that is not running fails and the chain goes on', async () => {
    const img = path.join(dir, 'off.img');
    const r = await onTest(`destroy test; save test ${img}; domstate test`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Domain 'test' destroyed\n\n\nshut off\n\n");
    expect(r.stderr).toBe(`error: Failed to save domain 'test' to ${img}\nerror: Requested operation is not valid: domain is not running\n`);
  });

  test('save --paused then restore leaves the guest paused', async () => {
    const img = path.join(dir, 'paused.img');
    const r = await onTest(`save test ${img} --paused; restore ${img}; domstate test`);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('paused');
  });

  test('domjobinfo --completed after a parallel save shows the job and its channels', async () => {
    const img = path.join(dir, 'job.img');
    const r = await onTest(`save test ${img} --parallel-channels 2; domjobinfo test --completed`);
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    expect(out).toContain('Job type:         Completed   ');
    expect(out).toContain('Operation:        Save        ');
    expect(out.find((l) => l.startsWith('Time elapsed:'))).toMatch(/^Time elapsed: {5}\d+ +ms$/);
    expect(out).toContain('Data processed:   2.000 MiB');
    expect(out).toContain('Data remaining:   0.000 B');
    expect(out).toContain('Data total:       2.000 MiB');
    expect(out).toContain('Channel 1 processed: 1.000 MiB');
    expect(out).toContain('Channel 2 processed: 1.000 MiB');
  });

  test('domjobinfo with no job prints only the job type', async () => {
    const r = await onTest('domjobinfo test');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Job type:         None        \n\n');
  });

  test('domjobabort without a job reports the driver error', async () => {
    const r = await onTest('domjobabort test');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('\n');
    expect(r.stderr).toBe('error: Requested operation is not valid: no job is active on the domain\n');
  });

  test('save-image-dumpxml prints the XML stored in the image', async () => {
    const img = path.join(dir, 'dump.img');
    const r = await onTest(`save test ${img}; save-image-dumpxml ${img}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("<domain type='test'>\n  <name>test</name>\n  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>");
    expect(r.stdout.endsWith('</domain>\n\n')).toBe(true);
    const missing = await onTest(`save-image-dumpxml ${path.join(dir, 'none.img')}`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: cannot read domain image '${path.join(dir, 'none.img')}': No such file or directory\n`);
  });

  test('managedsave, then start restores from the managed image', async () => {
    const r = await onTest('managedsave test; dominfo test; start test; domstate test --reason; managedsave-remove test');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("\nDomain 'test' state saved by libvirt\n\n")).toBe(true);
    expect(r.stdout).toContain('Managed save:   yes\n');
    expect(r.stdout).toContain("Domain 'test' started\n\nrunning (restored)\n\n");
    expect(r.stdout.endsWith("Domain 'test' has no manage save image; removal skipped\n")).toBe(true);
  });

  test('managedsave-remove drops an existing image', async () => {
    const r = await onTest('managedsave test; managedsave-remove test; start test; domstate test --reason');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Removed managedsave image for domain 'test'\n");
    expect(r.stdout.endsWith('running (booted)\n\n')).toBe(true);
  });

  test('save with a malformed --parallel-channels fails before saving', async () => {
    const r = await onTest(`save test ${path.join(dir, 'bad.img')} --parallel-channels x; domstate test`);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("error: Numeric value 'x' for <parallel-channels> option is malformed or out of range\n");
    expect(r.stdout).toBe('\nrunning\n\n');
  });
});
