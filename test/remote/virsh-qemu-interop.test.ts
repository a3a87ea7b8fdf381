/**
 * Debian's stock virsh against tsvirtd serving the QEMU driver (`qemu+unix:///session`): real
 * guests listed, saved (with virsh's progress), inspected, restored, managed-saved, started,
 * destroyed, and a save aborted from a second virsh while it runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect } from '../../src';
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { waitFor } from '../conformance/helpers';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { runTool } from './run-tool';

const env = setupQemuEnv('virsh-qemu');
let d: TestDaemon;
let uri: string;
const virsh = (...args: string[]) => runTool('virsh', ['-c', uri, ...args], { timeoutMs: 60000 });

beforeAll(async () => {
  d = await startTestDaemon();
  uri = `qemu+unix:///session?socket=${d.rw}`;
});
afterAll(async () => {
  await d.stop();
  teardownQemuEnv(env);
});

async function defineAndStart(name: string, mib = 64): Promise<void> {
  const xmlFile = path.join(env.workDir, `${name}.xml`);
  fs.writeFileSync(xmlFile, smallGuestXML(name, mib));
  expect((await virsh('define', xmlFile)).code).toBe(0);
  const start = await virsh('start', name);
  expect(start.stdout).toContain(`Domain '${name}' started`);
}

describe('stock virsh against tsvirtd on qemu:///session', () => {
  it('lists a real guest, saves it with progress, dumps the image XML and restores it', async () => {
    await defineAndStart('vq-save');
    const list = await virsh('list', '--all');
    expect(list.stdout).toMatch(/\d+\s+vq-save\s+running/);
    const file = path.join(env.workDir, 'vq-save.img');
    const save = await virsh('save', 'vq-save', file, '--verbose');
    expect(save.code).toBe(0);
    expect(save.stdout).toContain(`Domain 'vq-save' saved to ${file}`);
    expect(save.stderr).toContain('Save: [100 %]');
    expect(fs.readFileSync(file).subarray(0, 16).toString('latin1')).toBe('LibvirtQemudSave');
    expect((await virsh('domstate', 'vq-save', '--reason')).stdout.trim()).toBe('shut off (saved)');
    expect((await virsh('save-image-dumpxml', file)).stdout).toContain('<name>vq-save</name>');
    const restore = await virsh('restore', file);
    expect(restore.stdout).toContain(`Domain restored from ${file}`);
    expect((await virsh('domstate', 'vq-save', '--reason')).stdout.trim()).toBe('running (restored)');
    const bypass = await virsh('save', 'vq-save', file, '--bypass-cache', '--paused');
    expect(bypass.code).toBe(0);
    expect((await virsh('restore', file)).code).toBe(0);
    expect((await virsh('domstate', 'vq-save')).stdout.trim()).toBe('paused');
    expect((await virsh('destroy', 'vq-save')).stdout).toContain("Domain 'vq-save' destroyed");
  }, 120000);

  it('managedsave, then start restores from the managed image', async () => {
    await defineAndStart('vq-managed');
    const ms = await virsh('managedsave', 'vq-managed');
    expect(ms.code).toBe(0);
    expect((await virsh('dominfo', 'vq-managed')).stdout).toMatch(/Managed save:\s+yes/);
    await virsh('start', 'vq-managed');
    expect((await virsh('domstate', 'vq-managed', '--reason')).stdout.trim()).toBe('running (restored)');
    await virsh('destroy', 'vq-managed');
  }, 120000);

  it('a second virsh sees the save job and aborts it; the guest keeps running', async () => {
    const slowUri = `qemu+unix:///session?socket=${d.rw}&save_max_bandwidth=2097152`;
    await defineAndStart('vq-abort', 256);
    // Give the guest some non-zero memory so the save has something to move slowly.
    const holder = await Connect.open(uri);
    const dom = await holder.lookupDomainByName('vq-abort');
    const file = path.join(env.workDir, 'vq-abort.img');
    const saving = runTool('virsh', ['-c', slowUri, 'save', 'vq-abort', file], { timeoutMs: 60000 });
    await waitFor(async () => (await dom.getJobInfo()).type !== 0, 30000, 'the save job');
    const info = await virsh('domjobinfo', 'vq-abort');
    expect(info.stdout).toMatch(/Job type:\s+Unbounded/);
    expect(info.stdout).toMatch(/Operation:\s+Save/);
    const abort = await virsh('domjobabort', 'vq-abort');
    expect(abort.code).toBe(0);
    const saved = await saving;
    expect(saved.code).toBe(1);
    expect(saved.stderr).toContain("operation aborted: job 'domain save' canceled by client");
    expect(fs.existsSync(file)).toBe(false);
    expect((await virsh('domstate', 'vq-abort', '--reason')).stdout.trim()).toBe('running (save canceled)');
    await holder.close();
    await virsh('destroy', 'vq-abort');
  }, 120000);
});
