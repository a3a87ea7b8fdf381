/**
 * The daemon's dispatch and limits, frame by frame: errors for unknown programs, procedures and
 * undecodable arguments, calls before open, read-only sockets, the 32 MiB cap checked on the
 * length word, per-client request limits with high-priority calls overtaking, keepalive.
 */
import path from 'node:path';
import { Connect, DomainState, ErrorCode } from '../../src';
import { REMOTE_PROCEDURES as P } from '../../src/remote/protocol/table';
import { KEEPALIVE_PROGRAM, KeepaliveProcedure, MessageStatus, MessageType, encodeKeepalive, encodeMessage } from '../../src/remote/rpc/message';
import { virErrorOf, waitFor } from '../conformance/helpers';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { RawClient } from './raw-client';

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon({ maxClientRequests: 1, keepalive: { intervalMs: 100, count: 2 } });
});
afterAll(async () => {
  await d.stop();
});

async function opened(sock = d.rw): Promise<RawClient> {
  const c = await RawClient.connect(sock);
  c.call(P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }, 1);
  const r = await c.next();
  expect(r?.header.status).toBe(MessageStatus.OK);
  return c;
}

describe('daemon dispatch', () => {
  it('answers unknown procedures, programs and bad arguments with RPC errors and keeps serving', async () => {
    const c = await opened();
    c.write(encodeMessage({ prog: 0x20008086, vers: 1, proc: 99999, type: MessageType.CALL, serial: 7, status: 0 }));
    let r = await c.next();
    expect(r?.header).toMatchObject({ serial: 7, type: MessageType.REPLY, status: MessageStatus.ERROR, proc: 99999 });
    expect(RawClient.error(r!).code).toBe(ErrorCode.RPC);
    expect(RawClient.error(r!).message).toBe('unknown procedure: 99999');

    c.write(encodeMessage({ prog: 0x12345678, vers: 1, proc: 1, type: MessageType.CALL, serial: 8, status: 0 }));
    r = await c.next();
    expect(RawClient.error(r!).message).toBe(`cannot find program ${0x12345678} version 1`);

    // DOMAIN_LOOKUP_BY_NAME with a string length past the body.
    c.write(encodeMessage({ prog: 0x20008086, vers: 1, proc: 23, type: MessageType.CALL, serial: 9, status: 0 }, Buffer.from([0, 0, 0, 200, 65, 66, 67, 68])));
    r = await c.next();
    expect(r?.header.serial).toBe(9);
    expect(RawClient.error(r!).code).toBe(ErrorCode.RPC);

    // The event message is the daemon's to send, not a client's to call.
    c.call(P.DOMAIN_EVENT_CALLBACK_LIFECYCLE, { callbackID: 1, msg: { dom: { name: 'x', uuid: '00000000-0000-0000-0000-000000000000', id: 1 }, event: 0, detail: 0 } }, 10);
    r = await c.next();
    expect(RawClient.error(r!).message).toBe('unknown procedure: 318');

    c.call(P.CONNECT_GET_TYPE, undefined, 11);
    r = await c.next();
    expect(r?.header).toMatchObject({ serial: 11, status: MessageStatus.OK });
    c.close();
  });

  it('refuses calls before CONNECT_OPEN but answers the handshake', async () => {
    const c = await RawClient.connect(d.rw);
    c.call(P.CONNECT_GET_TYPE, undefined, 1);
    expect(RawClient.error((await c.next())!).message).toBe('internal error: connection not open');
    c.call(P.AUTH_LIST, undefined, 2);
    expect((await c.next())?.header.status).toBe(MessageStatus.OK);
    c.call(P.CONNECT_OPEN, { name: 'test+unix:///default?socket=/x', flags: 0 }, 3);
    expect(RawClient.error((await c.next())!).code).toBe(ErrorCode.NO_CONNECT);
    c.close();
  });

  it('denies every mutation on the read-only socket', async () => {
    const ro = await Connect.open(`test+unix:///default?socket=${d.ro}`);
    try {
      const dom = await ro.lookupDomainByName('test');
      // The client asked read-write; the socket decides.
      for (const p of [dom.suspend(), dom.destroy(), dom.save(path.join(d.dir, 'ro.img')), ro.restore(path.join(d.dir, 'ro.img'))]) {
        const e = await virErrorOf(p);
        expect(e.code).toBe(ErrorCode.OPERATION_DENIED);
      }
      expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    } finally {
      await ro.close();
    }
  });

  it('closes a client announcing a frame over 32 MiB, before reading its body, and only that client', async () => {
    const good = await Connect.open(`test+unix:///default?socket=${d.rw}`);
    const c = await RawClient.connect(d.rw);
    const huge = Buffer.alloc(28);
    huge.writeUInt32BE(33554433, 0);
    c.write(huge);
    await c.closedP;
    expect(await good.getType()).toBe('TEST');
    await good.close();
  });

  it('runs high-priority calls past a client request limit while ordinary ones queue', async () => {
    const conn = await Connect.open(`test+unix:///default?socket=${d.rw}&chunk_delay_ms=40`);
    try {
      const dom = await conn.defineXML(`<domain type='test'><name>limit</name><memory unit='MiB'>2048</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`);
      await dom.create();
      const other = await conn.defineXML(`<domain type='test'><name>limit2</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`);
      await other.create();
      const saving = dom.save(path.join(d.dir, 'limit.img'));
      saving.catch(() => undefined);
      await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, 10000, 'progress');
      let suspended = false;
      const suspending = other.suspend().then(() => (suspended = true));
      await new Promise((r) => setTimeout(r, 200));
      // max_client_requests = 1: the save holds the only ordinary slot.
      expect(suspended).toBe(false);
      expect((await other.getState()).state).toBe(DomainState.RUNNING);
      await dom.abortJob();
      expect((await virErrorOf(saving)).code).toBe(ErrorCode.OPERATION_ABORTED);
      await suspending;
      expect((await other.getState()).state).toBe(DomainState.PAUSED);
    } finally {
      await conn.close();
    }
  });

  it('answers PING with PONG, pings clients that asked for keepalive, and drops silent ones', async () => {
    const c = await RawClient.connect(d.rw);
    c.write(encodeKeepalive(KeepaliveProcedure.PING));
    const pong = await c.next();
    expect(pong?.header).toMatchObject({ prog: KEEPALIVE_PROGRAM, proc: KeepaliveProcedure.PONG, type: MessageType.MESSAGE, serial: 0 });
    c.call(P.CONNECT_SUPPORTS_FEATURE, { feature: 10 }, 1);
    expect((await c.next())?.header.status).toBe(MessageStatus.OK);
    const ping = await c.next(1000);
    expect(ping?.header).toMatchObject({ prog: KEEPALIVE_PROGRAM, proc: KeepaliveProcedure.PING });
    // Never answering: dropped after interval * (count + 1) = 300 ms.
    const t0 = Date.now();
    await c.closedP;
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
