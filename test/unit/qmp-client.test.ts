import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';
import { QmpClient, QmpCommandError, type QmpEvent } from '../../src/drivers/qemu/qmp';
import { FakeQmpServer, SILENT } from '../helpers/fake-qmp-server';
import { virErrorOf as rejection } from '../helpers/vir-error-of';

/** Awaits a promise expected to reject and returns its VirError. */

function nextClosed(client: QmpClient): Promise<VirError> {
  return new Promise((resolve) => client.once('closed', resolve));
}

describe('QmpClient against a scripted QMP server', () => {
  let server: FakeQmpServer;
  let client: QmpClient | undefined;

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server?.stop();
  });

  it('reads the greeting, negotiates capabilities and exposes the version', async () => {
    server = await FakeQmpServer.start({ version: { major: 8, minor: 1, micro: 3 } });
    client = await QmpClient.connect(server.socketPath, { timeoutMs: 2000 });
    expect(client.version).toEqual({ major: 8, minor: 1, micro: 3 });
    expect(client.greeting).toEqual({ version: { major: 8, minor: 1, micro: 3 }, package: 'fake-qmp', capabilities: ['oob'] });
    expect(server.received.map((c) => c.execute)).toEqual(['qmp_capabilities']);
    expect(JSON.parse(server.received[0].raw)).toEqual({ execute: 'qmp_capabilities', id: server.received[0].id });
    expect(await client.execute('query-status')).toEqual({ status: 'paused', singlestep: false, running: false });
  });

  it('sends arguments and a unique id per command', async () => {
    server = await FakeQmpServer.start({ script: { 'echo-args': (cmd) => ({ return: cmd.arguments ?? null }) } });
    client = await QmpClient.connect(server.socketPath);
    await expect(client.execute('echo-args', { a: 1, b: 'x' })).resolves.toEqual({ a: 1, b: 'x' });
    await expect(client.execute('echo-args')).resolves.toBeNull();
    const ids = server.received.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
  });

  it('matches out-of-order replies to their commands by id', async () => {
    server = await FakeQmpServer.start({ script: { slow: SILENT, fast: SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const gotSlow = server.waitForCommand('slow');
    const slow = client.execute('slow');
    const slowCmd = await gotSlow;
    const gotFast = server.waitForCommand('fast');
    const fast = client.execute('fast');
    const fastCmd = await gotFast;
    // Both replies in one write, the later command first.
    server.sendRaw(
      `${JSON.stringify({ return: 'fast-result', id: fastCmd.id })}\r\n${JSON.stringify({ return: 'slow-result', id: slowCmd.id })}\r\n`,
    );
    await expect(Promise.all([slow, fast])).resolves.toEqual(['slow-result', 'fast-result']);
  });

  it('handles one reply split across several writes (partial lines)', async () => {
    server = await FakeQmpServer.start({ script: { big: SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const got = server.waitForCommand('big');
    const p = client.execute<{ text: string }>('big');
    const cmd = await got;
    const text = 'caf\u00e9-'.repeat(200);
    await server.sendInPieces(`${JSON.stringify({ return: { text }, id: cmd.id })}\r\n`, 7);
    await expect(p).resolves.toEqual({ text });
  });

  it('emits events, including ones that arrive in the same chunk as a reply', async () => {
    server = await FakeQmpServer.start({ script: { stop: SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const events: QmpEvent[] = [];
    client.on('event', (e) => events.push(e));
    const got = server.waitForCommand('stop');
    const p = client.execute('stop');
    const cmd = await got;
    server.sendRaw(
      `${JSON.stringify({ event: 'STOP', timestamp: { seconds: 10, microseconds: 5 } })}\r\n` +
        `${JSON.stringify({ return: {}, id: cmd.id })}\r\n`,
    );
    await p;
    expect(events).toEqual([{ event: 'STOP', data: {}, timestamp: { seconds: 10, microseconds: 5 } }]);
  });

  it('keeps reading after an event listener throws', async () => {
    server = await FakeQmpServer.start();
    client = await QmpClient.connect(server.socketPath);
    client.on('event', () => {
      throw new Error('listener bug');
    });
    const wait = client.waitForEvent('RESUME');
    server.emitEvent('STOP');
    server.emitEvent('RESUME');
    await expect(wait).resolves.toMatchObject({ event: 'RESUME' });
    await expect(client.execute('query-status')).resolves.toMatchObject({ status: 'paused' });
  });

  describe('waitForEvent', () => {
    beforeEach(async () => {
      server = await FakeQmpServer.start();
      client = await QmpClient.connect(server.socketPath);
    });

    it('resolves with the first matching event and ignores others', async () => {
      const wait = client!.waitForEvent('MIGRATION', (e) => e.data.status === 'completed', 2000);
      server.emitEvent('STOP');
      server.emitEvent('MIGRATION', { status: 'active' });
      server.emitEvent('MIGRATION', { status: 'completed' });
      const ev = await wait;
      expect(ev.data).toEqual({ status: 'completed' });
      expect(client!.listenerCount('event')).toBe(0);
    });

    it('times out with OPERATION_TIMEOUT and removes its listeners', async () => {
      const err = await rejection(client!.waitForEvent('SHUTDOWN', undefined, 50));
      expect(err).toMatchObject({
        code: ErrorCode.OPERATION_TIMEOUT,
        domain: ErrorDomain.QEMU,
        message: "Timed out during operation: QEMU event 'SHUTDOWN' did not arrive within 50 ms",
      });
      expect(client!.listenerCount('event')).toBe(0);
      expect(client!.listenerCount('closed')).toBe(0);
    });

    it('can be cancelled through an AbortSignal', async () => {
      const ac = new AbortController();
      const wait = client!.waitForEvent('SHUTDOWN', undefined, { signal: ac.signal });
      ac.abort();
      const err = await rejection(wait);
      expect(err.code).toBe(ErrorCode.OPERATION_ABORTED);
      expect(err.message).toBe("operation aborted: wait for QEMU event 'SHUTDOWN' cancelled");
      expect(client!.listenerCount('event')).toBe(0);
      const pre = new AbortController();
      pre.abort();
      expect((await rejection(client!.waitForEvent('X', undefined, { signal: pre.signal }))).code).toBe(ErrorCode.OPERATION_ABORTED);
    });

    it('rejects when the monitor dies while waiting', async () => {
      const wait = client!.waitForEvent('SHUTDOWN');
      server.dropConnection();
      const err = await rejection(wait);
      expect(err.message).toBe('internal error: End of file from qemu monitor');
    });

    it('rejects with the predicate error as a VirError', async () => {
      const wait = client!.waitForEvent('STOP', () => {
        throw new Error('bad predicate');
      });
      server.emitEvent('STOP');
      const err = await rejection(wait);
      expect(err).toMatchObject({ code: ErrorCode.INTERNAL_ERROR, message: 'internal error: bad predicate' });
    });
  });

  it('maps a QMP error reply to libvirt INTERNAL_ERROR and keeps the QMP class', async () => {
    server = await FakeQmpServer.start({
      script: { 'migrate-set-capabilities': { error: { class: 'GenericError', desc: "Capability 'foo' not found" } } },
    });
    client = await QmpClient.connect(server.socketPath);
    const err = await rejection(client.execute('migrate-set-capabilities', { capabilities: [] }));
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      domain: ErrorDomain.QEMU,
      message: "internal error: unable to execute QEMU command 'migrate-set-capabilities': Capability 'foo' not found",
      qmpClass: 'GenericError',
      qmpDesc: "Capability 'foo' not found",
      command: 'migrate-set-capabilities',
    });
    const nf = await rejection(client.execute('no-such-command'));
    expect(nf).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      qmpClass: 'CommandNotFound',
      message: "internal error: unable to execute QEMU command 'no-such-command': The command no-such-command has not been found",
    });
    // The monitor stays usable after command errors.
    await expect(client.execute('query-status')).resolves.toBeDefined();
  });

  it('reports a reply with neither return nor error like libvirt', async () => {
    server = await FakeQmpServer.start({ script: { odd: SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const got = server.waitForCommand('odd');
    const p = client.execute('odd');
    server.sendRaw(`${JSON.stringify({ error: 'not an object', id: (await got).id })}\r\n`);
    expect((await rejection(p)).message).toBe("internal error: unable to execute QEMU command 'odd': unknown QEMU command error");
  });

  it('times a silent command out with OPERATION_TIMEOUT, drops its late reply and stays usable', async () => {
    server = await FakeQmpServer.start({ script: { hang: SILENT } });
    client = await QmpClient.connect(server.socketPath, { commandTimeoutMs: 5000 });
    const got = server.waitForCommand('hang');
    const err = await rejection(client.execute('hang', undefined, { timeoutMs: 60 }));
    expect(err).toMatchObject({
      code: ErrorCode.OPERATION_TIMEOUT,
      domain: ErrorDomain.QEMU,
      message: "Timed out during operation: QEMU monitor command 'hang' got no reply within 60 ms",
    });
    server.reply((await got).id, { return: 'late' });
    await expect(client.execute('query-status')).resolves.toMatchObject({ running: false });
    expect(client.closed).toBe(false);
  });

  it('uses the connect-time default command timeout', async () => {
    server = await FakeQmpServer.start({ script: { hang: SILENT } });
    client = await QmpClient.connect(server.socketPath, { commandTimeoutMs: 40 });
    expect((await rejection(client.execute('hang'))).message).toContain('within 40 ms');
  });

  it('rejects all pending commands on EOF, emits closed once, and rejects later calls at once', async () => {
    server = await FakeQmpServer.start({ script: { a: SILENT, b: SILENT } });
    client = await QmpClient.connect(server.socketPath, { name: 'vm1' });
    const closedEvents: VirError[] = [];
    client.on('closed', (e) => closedEvents.push(e));
    const gotB = server.waitForCommand('b');
    const a = client.execute('a');
    const b = client.execute('b');
    await gotB;
    server.dropConnection();
    const [ea, eb] = await Promise.all([rejection(a), rejection(b)]);
    for (const e of [ea, eb]) {
      expect(e).toMatchObject({
        code: ErrorCode.INTERNAL_ERROR,
        domain: ErrorDomain.QEMU,
        message: "internal error: End of file from qemu monitor (vm='vm1')",
      });
    }
    expect(client.closed).toBe(true);
    const later = await rejection(client.execute('query-status'));
    expect(later.message).toBe("internal error: End of file from qemu monitor (vm='vm1')");
    expect(closedEvents).toHaveLength(1);
    expect(server.received.filter((c) => c.execute === 'query-status')).toHaveLength(0);
  });

  it('closes with INTERNAL_ERROR on malformed JSON from QEMU', async () => {
    server = await FakeQmpServer.start({ script: { hang: SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const closed = nextClosed(client);
    const got = server.waitForCommand('hang');
    const p = client.execute('hang');
    await got;
    server.sendRaw('{"return": {}, this is not json\r\n');
    const err = await rejection(p);
    expect(err.code).toBe(ErrorCode.INTERNAL_ERROR);
    expect(err.domain).toBe(ErrorDomain.QEMU);
    expect(err.message).toMatch(/^internal error: cannot parse json \{"return": \{\}, this is not json: /);
    expect(await closed).toBe(err);
    expect(await rejection(client.execute('query-status'))).toBe(err);
  });

  it('closes on a JSON value that is not a QMP message', async () => {
    server = await FakeQmpServer.start();
    client = await QmpClient.connect(server.socketPath);
    const closed = nextClosed(client);
    server.sendRaw('[1,2,3]\r\n');
    expect((await closed).message).toBe("internal error: Unknown JSON reply '[1,2,3]'");
  });

  it('close() is idempotent, rejects pending calls and emits closed once', async () => {
    server = await FakeQmpServer.start({ script: { hang: SILENT } });
    client = await QmpClient.connect(server.socketPath);
    const closedEvents: VirError[] = [];
    client.on('closed', (e) => closedEvents.push(e));
    const got = server.waitForCommand('hang');
    const p = client.execute('hang', undefined, { timeoutMs: 0 });
    await got;
    const pending = rejection(p);
    await Promise.all([client.close(), client.close()]);
    await client.close();
    const err = await pending;
    expect(err).toMatchObject({ code: ErrorCode.OPERATION_FAILED, message: 'operation failed: QEMU monitor closed' });
    expect(closedEvents).toHaveLength(1);
    expect((await rejection(client.execute('query-status'))).code).toBe(ErrorCode.OPERATION_FAILED);
  });
});

describe('QmpClient.connect failures', () => {
  let server: FakeQmpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('reports a missing socket as libvirt does', async () => {
    server = await FakeQmpServer.start({}, false);
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 500 }));
    expect(err).toMatchObject({
      code: ErrorCode.SYSTEM_ERROR,
      domain: ErrorDomain.QEMU,
      message: 'failed to connect to monitor socket: No such file or directory',
    });
  });

  it('retries until the socket appears when asked to', async () => {
    server = await FakeQmpServer.start({}, false);
    const s = server;
    setTimeout(() => void s.listen(), 150);
    const client = await QmpClient.connect(server.socketPath, { timeoutMs: 3000, retry: true });
    expect(client.version.major).toBe(7);
    await client.close();
  });

  it('gives up retrying at the deadline with the last errno', async () => {
    server = await FakeQmpServer.start({}, false);
    const t0 = Date.now();
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 200, retry: true }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(err.message).toBe('failed to connect to monitor socket: No such file or directory');
  });

  it('times out when QEMU sends no greeting', async () => {
    server = await FakeQmpServer.start({ greeting: null });
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 100 }));
    expect(err).toMatchObject({
      code: ErrorCode.OPERATION_TIMEOUT,
      message: 'Timed out during operation: QEMU monitor sent no QMP greeting within 100 ms',
    });
  });

  it('times out when qmp_capabilities gets no reply', async () => {
    server = await FakeQmpServer.start({ script: { qmp_capabilities: SILENT } });
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 150 }));
    expect(err.code).toBe(ErrorCode.OPERATION_TIMEOUT);
    expect(err.message).toContain("QEMU monitor command 'qmp_capabilities' got no reply");
  });

  it('rejects a greeting that is not a QMP greeting', async () => {
    server = await FakeQmpServer.start({ greeting: '{"hello": "world"}' });
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 1000 }));
    expect(err).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      message: 'internal error: unexpected QMP greeting from QEMU monitor: {"hello": "world"}',
    });
  });

  it('rejects a greeting without a usable version', async () => {
    server = await FakeQmpServer.start({ greeting: '{"QMP": {"version": {"qemu": {"major": "7"}}, "capabilities": []}}' });
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 1000 }));
    expect(err.message).toBe('internal error: unexpected QMP greeting from QEMU monitor: missing or invalid QEMU version');
  });

  it('fails the handshake with EOF when QEMU hangs up before greeting', async () => {
    server = await FakeQmpServer.start({ greeting: null });
    const s = server;
    void s.waitForConnection().then(() => s.dropConnection());
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 2000 }));
    expect(err.message).toBe('internal error: End of file from qemu monitor');
  });

  it('propagates a qmp_capabilities error', async () => {
    server = await FakeQmpServer.start({ script: { qmp_capabilities: { error: { class: 'GenericError', desc: 'nope' } } } });
    const err = await rejection(QmpClient.connect(server.socketPath, { timeoutMs: 1000 }));
    expect(err.message).toBe("internal error: unable to execute QEMU command 'qmp_capabilities': nope");
  });
});
