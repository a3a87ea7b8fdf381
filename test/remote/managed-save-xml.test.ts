/**
 * managedsave-dumpxml and managedsave-define (DOMAIN_MANAGED_SAVE_GET_XML_DESC 388 /
 * _DEFINE_XML 389) through tsvirtd:
 * - test driver: stock virsh and tsvirsh run the same command strings against one tsvirtd and
 *   must print the same (libvirt 9.0's test driver lacks both APIs, so tsvirtd is the server);
 * - QEMU driver: a real managed save image, read, redefined (new description, --paused) and
 *   started from, with the same output and errors as libvirtd 9.0's QEMU driver for the same
 *   guest through stock virsh.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, ErrorCode } from '../../src';
import { BIN, requireBuild } from '../cli/run-cli';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { runTool, type ToolResult } from './run-tool';

const env = setupQemuEnv('msxml');
let d: TestDaemon;
let lv: QemuLibvirtd;

beforeAll(async () => {
  requireBuild();
  [d, lv] = await Promise.all([startTestDaemon(), startQemuLibvirtd()]);
}, 60000);
afterAll(async () => {
  await Promise.all([d?.stop(), lv?.stop()]);
  teardownQemuEnv(env);
});

const run = (tool: 'virsh' | 'tsvirsh', globals: string[], command: string): Promise<ToolResult> =>
  tool === 'virsh'
    ? runTool('virsh', [...globals, command], { timeoutMs: 60000 })
    : runTool(process.execPath, [BIN, ...globals, command], { timeoutMs: 60000 });

/** Writes `xml` into the work dir under `name`. */
function file(name: string, xml: string): string {
  const p = path.join(env.workDir, name);
  fs.writeFileSync(p, xml);
  return p;
}

describe('managed save XML on the test driver: stock virsh and tsvirsh through tsvirtd', () => {
  const rw = (): string[] => ['-c', `test+unix:///default?socket=${d.rw}`];
  const ro = (): string[] => ['-r', '-c', `test+unix:///default?socket=${d.ro}`];

  it('print the same for each command string, and the image really changes', async () => {
    const orig = (await run('virsh', rw(), 'dumpxml test --inactive')).stdout;
    const updated = file('test-new.xml', orig.replace('</name>', '</name>\n  <description>redefined</description>'));
    const renamed = file('test-renamed.xml', orig.replace('<name>test</name>', '<name>other</name>'));
    // test:///default lives while a connection is open: this one keeps it (and the image)
    // from one client process to the next.
    const holder = await Connect.open(rw()[1]);
    const none = [await run('virsh', rw(), 'managedsave-dumpxml test'), await run('tsvirsh', rw(), 'managedsave-dumpxml test')];
    expect(none[1]).toEqual(none[0]);
    expect(none[0].stderr).toBe('error: Requested operation is not valid: domain does not have managed save image\n');
    await (await holder.lookupDomainByName('test')).managedSave();
    const cases: Array<[string[], string]> = [
      [rw(), 'managedsave-dumpxml test; managedsave-dumpxml --domain test --security-info'],
      [ro(), 'managedsave-dumpxml test'],
      [ro(), 'managedsave-dumpxml test --security-info'],
      [ro(), `managedsave-define test ${updated}`],
      [rw(), `managedsave-define test ${renamed}`],
      [rw(), `managedsave-define test ${updated} --running --paused`],
      [rw(), `managedsave-define test ${path.join(env.workDir, 'nonexist.xml')}`],
      [rw(), 'managedsave-define nosuch x.xml'],
    ];
    for (const [globals, command] of cases) {
      const v = await run('virsh', globals, command);
      const t = await run('tsvirsh', globals, command);
      expect({ command, ...t }).toEqual({ command, ...v });
    }
    // As libvirt: the plain XML is readable read-only, the secure one and a redefinition are not.
    expect((await run('virsh', ro(), 'managedsave-dumpxml test')).stdout).toContain('<name>test</name>');
    expect((await run('virsh', ro(), 'managedsave-dumpxml test --security-info')).stderr).toBe('error: operation forbidden: virDomainManagedSaveGetXMLDesc with secure flag\n');
    expect((await run('tsvirsh', ro(), `managedsave-define test ${updated}`)).stderr).toBe(
      'error: Failed to update test XML configuration\nerror: operation forbidden: read only access prevents virDomainManagedSaveDefineXML\n',
    );
    const dumped = await run('virsh', rw(), 'managedsave-dumpxml test');
    expect(dumped.stdout).toContain('<name>test</name>');
    expect(dumped.stdout).not.toContain('redefined');
    // One client redefines, the other sees it; then the guest starts paused from the image.
    const define = await run('tsvirsh', rw(), `managedsave-define test ${updated} --paused`);
    expect(define).toEqual({ code: 0, stdout: "Managed save state file of domain 'test' updated.\n\n", stderr: '' });
    expect((await run('virsh', rw(), 'managedsave-dumpxml test')).stdout).toContain('<description>redefined</description>');
    const start = await run('virsh', rw(), 'start test; domstate test; dumpxml test');
    expect(start.stdout).toMatch(/^Domain 'test' started\n\npaused\n\n<domain type='test'[^]*<description>redefined<\/description>/);
    expect((await run('virsh', rw(), 'resume test; managedsave-dumpxml test')).stderr).toBe('error: Requested operation is not valid: domain does not have managed save image\n');
    // The library refuses the secure XML read-only by itself too, before any driver.
    const roConn = await Connect.openReadOnly('test:///default');
    await expect((await roConn.lookupDomainByName('test')).managedSaveGetXMLDesc(1)).rejects.toMatchObject({
      code: ErrorCode.OPERATION_DENIED,
      message: 'operation forbidden: virDomainManagedSaveGetXMLDesc with secure flag',
    });
    await roConn.close();
    await holder.close();
  }, 120000);
});

describe('managed save XML on the QEMU driver: tsvirtd and libvirtd 9.0 through stock virsh', () => {
  const ts = (): string => `qemu+unix:///session?socket=${d.rw}`;
  const both = async (command: string): Promise<[ToolResult, ToolResult]> =>
    Promise.all([run('virsh', ['-c', ts()], command), run('virsh', ['-c', lv.uri], command)]);

  it('read, redefine and start from a real managed save image, with libvirt\'s output and errors', async () => {
    const xml = file('msx.xml', smallGuestXML('msx', 64));
    for (const [ours, theirs] of [await both(`define ${xml}`), await both('managedsave-dumpxml msx'), await both(`managedsave-define msx ${xml}`)]) {
      expect(ours).toEqual(theirs);
    }
    expect((await both('managedsave-dumpxml msx'))[0].stderr).toBe('error: Requested operation is not valid: domain does not have managed save image\n');

    const [ts1, lv1] = await both('start msx; managedsave msx');
    expect(ts1).toEqual(lv1);
    const [tsXml, lvXml] = await both('managedsave-dumpxml msx');
    expect(tsXml.code).toBe(0);
    expect(tsXml.stdout).toContain('<name>msx</name>');
    expect(lvXml.stdout).toContain('<name>msx</name>');
    // Each side's own image XML, with a description added: accepted and kept by both.
    const tsNew = file('msx-ts.xml', tsXml.stdout.replace('</name>', '</name>\n  <description>redefined</description>'));
    const lvNew = file('msx-lv.xml', lvXml.stdout.replace('</name>', '</name>\n  <description>redefined</description>'));
    const [tsDef, lvDef] = await Promise.all([
      run('virsh', ['-c', ts()], `managedsave-define msx ${tsNew} --paused`),
      run('virsh', ['-c', lv.uri], `managedsave-define msx ${lvNew} --paused`),
    ]);
    expect(tsDef).toEqual(lvDef);
    expect(tsDef.stdout).toBe("Managed save state file of domain 'msx' updated.\n\n");
    for (const r of await both('managedsave-dumpxml msx')) expect(r.stdout).toContain('<description>redefined</description>');
    // tsvirt's remote driver reads libvirtd's image through the same procedure.
    const remote = await Connect.open(lv.uri);
    try {
      expect(`${await (await remote.lookupDomainByName('msx')).managedSaveGetXMLDesc(0)}\n`).toBe((await run('virsh', ['-c', lv.uri], 'managedsave-dumpxml msx')).stdout);
    } finally {
      await remote.close();
    }
    const [tsBad, lvBad] = await Promise.all([
      run('virsh', ['-c', ts()], `managedsave-define msx ${file('msx-ts-other.xml', tsXml.stdout.replace('<name>msx</name>', '<name>other</name>'))}`),
      run('virsh', ['-c', lv.uri], `managedsave-define msx ${file('msx-lv-other.xml', lvXml.stdout.replace('<name>msx</name>', '<name>other</name>'))}`),
    ]);
    expect(tsBad).toEqual(lvBad);
    expect(tsBad.stderr).toContain("Target domain name 'other' does not match source 'msx'");

    const [tsStart, lvStart] = await both('start msx; domstate msx');
    expect(tsStart).toEqual(lvStart);
    expect(tsStart.stdout).toBe("Domain 'msx' started\n\npaused\n\n");
    for (const r of await both('destroy msx; undefine msx')) expect(r.code).toBe(0);
  }, 240000);
});
