import { ErrorCode } from '../../src/util/error-codes';
import { QmpClient, probeQemuCapabilities, qemuVersionAtLeast } from '../../src/drivers/qemu/qmp';
import { FakeQmpServer, SILENT } from '../helpers/fake-qmp-server';

describe('probeQemuCapabilities', () => {
  let server: FakeQmpServer;
  let client: QmpClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server.stop();
  });

  it('collects version, migration capabilities and commands', async () => {
    server = await FakeQmpServer.start({
      version: { major: 9, minor: 0, micro: 1 },
      migrationCapabilities: ['multifd', 'mapped-ram', 'x-ignore-shared'],
      script: { migrate: { return: {} } },
    });
    client = await QmpClient.connect(server.socketPath);
    const caps = await probeQemuCapabilities(client);
    expect(caps.version).toEqual({ major: 9, minor: 0, micro: 1 });
    expect(caps.package).toBe('fake-qmp');
    expect(caps.migrationCapabilities).toEqual(['multifd', 'mapped-ram', 'x-ignore-shared']);
    expect(caps.commands).toEqual(expect.arrayContaining(['migrate', 'query-version', 'qmp_capabilities']));
  });

  it('sends the three queries without waiting for each reply', async () => {
    server = await FakeQmpServer.start({ script: { 'query-commands': SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const got = server.waitForCommand('query-commands');
    const probe = probeQemuCapabilities(client);
    const cmd = await got;
    expect(server.received.map((c) => c.execute)).toEqual(
      expect.arrayContaining(['query-version', 'query-migrate-capabilities', 'query-commands']),
    );
    server.reply(cmd.id, { return: [{ name: 'late-command' }] });
    expect((await probe).commands).toEqual(['late-command']);
  });

  it('rejects a malformed reply with INTERNAL_ERROR naming the command', async () => {
    server = await FakeQmpServer.start({ script: { 'query-migrate-capabilities': { return: [{ state: true }] } } });
    client = await QmpClient.connect(server.socketPath);
    await expect(probeQemuCapabilities(client)).rejects.toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      message: "internal error: query-migrate-capabilities reply: entry 0 has no 'capability'",
    });
    server.setHandler('query-migrate-capabilities', { return: [] });
    server.setHandler('query-version', { return: { qemu: { major: 7 } } });
    await expect(probeQemuCapabilities(client)).rejects.toMatchObject({
      message: "internal error: query-version reply: missing or invalid 'qemu' data",
    });
  });

  it('compares versions', () => {
    const v = { major: 7, minor: 2, micro: 22 };
    expect(qemuVersionAtLeast(v, 7, 2)).toBe(true);
    expect(qemuVersionAtLeast(v, 7, 2, 22)).toBe(true);
    expect(qemuVersionAtLeast(v, 7, 2, 23)).toBe(false);
    expect(qemuVersionAtLeast(v, 8, 2)).toBe(false);
    expect(qemuVersionAtLeast(v, 6, 9, 9)).toBe(true);
    expect(qemuVersionAtLeast(v, 9)).toBe(false);
  });
});
