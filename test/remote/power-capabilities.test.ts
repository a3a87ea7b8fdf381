/**
 * The APIs added through the declarative procedure table, end to end over a real tsvirtd socket:
 * shutdown / shutdownFlags / reboot / reset and CONNECT_GET_CAPABILITIES on the test driver,
 * from tsvirt's remote driver and from stock virsh (which checks libvirt's procedure numbers).
 */
import { Connect, ErrorCode } from '../../src';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { runTool } from './run-tool';

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d.stop();
});

const uri = (): string => `test+unix:///default?socket=${d.rw}`;

describe('shutdown, reboot, reset and capabilities through tsvirtd', () => {
  it('serves them to tsvirt clients with the test driver semantics, and denies them read-only', async () => {
    const c = await Connect.open(uri());
    try {
      const dom = await c.lookupDomainByName('test');
      const id = await dom.getID();
      await dom.reboot(0);
      expect(await dom.getState()).toEqual({ state: 1, reason: 1 });
      expect(await dom.getID()).toBe(id);
      await dom.reset(0);
      expect((await dom.getState()).state).toBe(1);
      await expect(dom.reset(1)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARG });
      await dom.shutdownFlags(1);
      expect(await dom.getState()).toEqual({ state: 5, reason: 1 });
      await expect(dom.shutdown()).rejects.toMatchObject({ code: ErrorCode.OPERATION_INVALID });
      await expect(dom.reboot()).rejects.toMatchObject({ code: ErrorCode.OPERATION_INVALID });
      await dom.create();
      await dom.shutdown();
      expect((await dom.getState()).state).toBe(5);
      const caps = await c.getCapabilities();
      expect(caps).toMatch(/^<capabilities>/);
      expect(caps).toContain("<domain type='test'/>");
      expect(caps).toContain('<arch>i686</arch>');
      await dom.create();
    } finally {
      await c.close();
    }
    const ro = await Connect.openReadOnly(`test+unix:///default?socket=${d.ro}`);
    try {
      const dom = await ro.lookupDomainByName('test');
      for (const call of [() => dom.shutdown(), () => dom.reboot(), () => dom.reset(), () => dom.shutdownFlags(0)]) {
        await expect(call()).rejects.toMatchObject({ code: ErrorCode.OPERATION_DENIED });
      }
      expect(await ro.getCapabilities()).toContain('<capabilities>');
    } finally {
      await ro.close();
    }
  });

  it('stock virsh reaches them by libvirt\'s procedure numbers', async () => {
    const run = (cmd: string) => runTool('virsh', ['-c', uri(), cmd]);
    const r1 = await run('reboot test; domstate test --reason; reset test; shutdown test; domstate test --reason; start test');
    expect(r1.stderr).toBe('');
    expect(r1.stdout).toContain('running (booted)');
    expect(r1.stdout).toContain('shut off (shutdown)');
    const caps = await run('capabilities');
    expect(caps.code).toBe(0);
    expect(caps.stdout).toContain("<domain type='test'/>");
  });
});
