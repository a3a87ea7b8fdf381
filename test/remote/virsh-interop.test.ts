/**
 * Debian's stock virsh (libvirt-clients 9.0) against tsvirtd serving the test driver: every
 * command the issue lists, with the output virsh prints checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, DomainState, JobType } from '../../src';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { runTool } from './run-tool';

let d: TestDaemon;
let holder: Connect;
let uri: string;
let slowUri: string;
const xml = (name: string, mib: number): string =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>${mib}</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;
const virsh = (...args: string[]) => runTool('virsh', ['-c', uri, ...args]);

async function fresh(name: string, mib = 64) {
  const dom = await holder.defineXML(xml(name, mib));
  await dom.create();
  return dom;
}

beforeAll(async () => {
  d = await startTestDaemon();
  uri = `test+unix:///default?socket=${d.rw}`;
  slowUri = `${uri}&chunk_delay_ms=20`;
  // libvirt's test driver forgets test:///default when its last connection closes; holding
  // one open keeps the state across virsh invocations, as a long-lived client would.
  holder = await Connect.open(uri);
});
afterAll(async () => {
  await holder.close();
  await d.stop();
});

describe('stock virsh against tsvirtd', () => {
  it('lists, shows domain info and versions', async () => {
    const dom = await fresh('virsh-info');
    const list = await runTool('virsh', ['-c', uri, 'list', '--all']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/Id\s+Name\s+State/);
    expect(list.stdout).toMatch(new RegExp(`\\d+\\s+virsh-info\\s+running`));
    const info = await virsh('dominfo', 'virsh-info');
    expect(info.stderr).toBe('');
    expect(info.stdout).toMatch(/Name:\s+virsh-info/);
    expect(info.stdout).toMatch(new RegExp(`UUID:\\s+${dom.uuid}`));
    expect(info.stdout).toMatch(/State:\s+running/);
    expect(info.stdout).toMatch(/OS Type:\s+hvm/);
    expect(info.stdout).toMatch(/Max memory:\s+65536 KiB/);
    const ver = await runTool('virsh', ['-c', uri, 'version']);
    expect(ver.code).toBe(0);
    expect(ver.stdout).toMatch(new RegExp(`Running hypervisor: ${await holder.getType()} `));
  });

  it('saves, dumps the image XML, restores, and honours --bypass-cache --paused', async () => {
    await fresh('virsh-save');
    const file = path.join(d.dir, 'virsh-save.img');
    const save = await virsh('save', 'virsh-save', file);
    expect(save.stderr).toBe('');
    expect(save.stdout).toContain(`Domain 'virsh-save' saved to ${file}`);
    const dom = await holder.lookupDomainByName('virsh-save');
    expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
    const dump = await virsh('save-image-dumpxml', file);
    expect(dump.stdout).toContain('<name>virsh-save</name>');
    const restore = await virsh('restore', file);
    expect(restore.stdout).toContain(`Domain restored from ${file}`);
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);

    const file2 = path.join(d.dir, 'virsh-save-paused.img');
    const s2 = await virsh('save', '--bypass-cache', '--paused', 'virsh-save', file2);
    expect(s2.stderr).toBe('');
    await virsh('restore', file2);
    expect((await dom.getState()).state).toBe(DomainState.PAUSED);
    const bad = await virsh('save', '--running', '--paused', 'virsh-save', file2);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/mutually exclusive/);
  });

  it('prints progress with save --verbose', async () => {
    await fresh('virsh-verbose', 512);
    const file = path.join(d.dir, 'virsh-verbose.img');
    const r = await runTool('virsh', ['-c', slowUri, 'save', '--verbose', 'virsh-verbose', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Save: \[\s*\d+ %\]/);
    expect(r.stderr).toContain('Save: [100 %]');
    expect(fs.existsSync(file)).toBe(true);
  });

  it('managedsave, then start restores; destroy stops', async () => {
    await fresh('virsh-managed');
    const ms = await virsh('managedsave', 'virsh-managed');
    expect(ms.stdout).toContain("Domain 'virsh-managed' state saved by libvirt");
    const dom = await holder.lookupDomainByName('virsh-managed');
    expect(await dom.hasManagedSaveImage()).toBe(true);
    const start = await virsh('start', 'virsh-managed');
    expect(start.stdout).toContain("Domain 'virsh-managed' started");
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    expect(await dom.hasManagedSaveImage()).toBe(false);
    const destroy = await virsh('destroy', 'virsh-managed');
    expect(destroy.stdout).toContain("Domain 'virsh-managed' destroyed");
    expect((await dom.getState()).state).toBe(DomainState.SHUTOFF);
  });

  it('domjobinfo from a second virsh during a save, and domjobabort cancels it', async () => {
    const dom = await fresh('virsh-abort', 2048);
    const file = path.join(d.dir, 'virsh-abort.img');
    const saving = runTool('virsh', ['-c', slowUri, 'save', 'virsh-abort', file]);
    const end = Date.now() + 10000;
    let job = '';
    while (Date.now() < end) {
      const r = await virsh('domjobinfo', 'virsh-abort');
      if (/Data processed:\s+[1-9]/.test(r.stdout)) {
        job = r.stdout;
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(job).toMatch(/Job type:\s+(Unbounded|Bounded)/);
    expect(job).toMatch(/Operation:\s+Save/);
    const abort = await virsh('domjobabort', 'virsh-abort');
    expect(abort.code).toBe(0);
    const r = await saving;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("operation aborted: job 'domain save' canceled by client");
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    expect((await dom.getJobInfo()).type).toBe(JobType.NONE);
  });

  it('reports errors with libvirt codes', async () => {
    const r = await virsh('dominfo', 'no-such-domain');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("failed to get domain 'no-such-domain'");
    const missing = await virsh('restore', path.join(d.dir, 'missing.img'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`Failed to restore domain from ${path.join(d.dir, 'missing.img')}`);
    expect(missing.stderr).toMatch(/No such file or directory/);
    const ro = await runTool('virsh', ['-c', `test+unix:///default?socket=${d.ro}`, 'destroy', 'test']);
    expect(ro.stderr).toMatch(/operation forbidden: read only access prevents virDomainDestroy/);
  });
});
