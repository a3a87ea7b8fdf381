/**
 * The remote driver's transport: replies matched by serial in any order, keepalive answered and
 * sent, a dead or vanished daemon failing the calls in flight, and the TCP and TLS transports
 * (client certificates checked against the CA, as libvirtd does).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connect, ErrorCode } from '../../src';
import { RpcClient } from '../../src/drivers/remote/rpc-client';
import { REMOTE_PROCEDURES as P } from '../../src/remote/protocol/table';
import { encodeRet } from '../../src/remote/protocol/procedure';
import {
  FrameSplitter,
  KEEPALIVE_PROGRAM,
  KeepaliveProcedure,
  MessageStatus,
  MessageType,
  decodeMessage,
  encodeKeepalive,
  encodeMessage,
  type RpcMessage,
} from '../../src/remote/rpc/message';
import { Daemon } from '../../src/daemon/server';
import { pkiFiles } from '../../src/remote/paths';
import { virErrorOf } from '../conformance/helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-transport-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A scripted peer: hands each received frame and the socket to `onFrame`. */
async function fakeDaemon(onFrame: (m: RpcMessage, sock: net.Socket) => void): Promise<{ file: string; server: net.Server }> {
  const file = path.join(dir, `fake-${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer((sock) => {
    const sp = new FrameSplitter();
    sock.on('data', (c) => sp.push(c).forEach((f) => onFrame(decodeMessage(Buffer.from(f)), sock)));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(file, r));
  return { file, server };
}

function connectTo(file: string): Promise<net.Socket> {
  return new Promise((r) => {
    const s = net.createConnection(file, () => r(s));
  });
}

const reply = (m: RpcMessage, body: Buffer): Buffer => encodeMessage({ ...m.header, type: MessageType.REPLY, status: MessageStatus.OK }, body);

describe('RPC client', () => {
  it('matches out-of-order replies to their calls by serial', async () => {
    const held: RpcMessage[] = [];
    const { file, server } = await fakeDaemon((m, sock) => {
      held.push(m);
      if (held.length === 3) {
        for (const h of [...held].reverse()) sock.write(reply(h, encodeRet(P.CONNECT_GET_HOSTNAME, { hostname: `serial-${h.header.serial}` })));
      }
    });
    const rpc = new RpcClient(await connectTo(file));
    const answers = await Promise.all([1, 2, 3].map(() => rpc.call(P.CONNECT_GET_HOSTNAME, undefined)));
    expect(answers.map((a) => a.hostname)).toEqual(['serial-1', 'serial-2', 'serial-3']);
    await rpc.close();
    server.close();
  });

  it('answers PINGs, pings an idle daemon, and fails calls when it stays silent', async () => {
    const seen: RpcMessage[] = [];
    const { file, server } = await fakeDaemon((m) => seen.push(m));
    const sock = await connectTo(file);
    const rpc = new RpcClient(sock, { intervalMs: 50, count: 2 });
    rpc.startKeepalive();
    const t0 = Date.now();
    const e = await virErrorOf(rpc.call(P.CONNECT_GET_TYPE, undefined));
    expect(e.message).toBe('internal error: connection closed due to keepalive timeout');
    expect(Date.now() - t0).toBeLessThan(1000);
    const pings = seen.filter((m) => m.header.prog === KEEPALIVE_PROGRAM && m.header.proc === KeepaliveProcedure.PING);
    expect(pings.length).toBeGreaterThanOrEqual(1);
    expect(rpc.closed).toBe(true);
    server.close();
  });

  it('replies PONG to a daemon PING and fails pending calls when the daemon goes away', async () => {
    const seen: RpcMessage[] = [];
    let peer: net.Socket | undefined;
    const { file, server } = await fakeDaemon((m, sock) => {
      seen.push(m);
      peer = sock;
      if (m.header.prog !== KEEPALIVE_PROGRAM) sock.write(encodeKeepalive(KeepaliveProcedure.PING));
    });
    const rpc = new RpcClient(await connectTo(file));
    const pending = rpc.call(P.CONNECT_GET_TYPE, undefined);
    pending.catch(() => undefined);
    const end = Date.now() + 2000;
    while (!seen.some((m) => m.header.proc === KeepaliveProcedure.PONG && m.header.prog === KEEPALIVE_PROGRAM) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen.some((m) => m.header.proc === KeepaliveProcedure.PONG)).toBe(true);
    peer?.destroy();
    const e = await virErrorOf(pending);
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect((await virErrorOf(rpc.call(P.CONNECT_GET_TYPE, undefined))).code).toBe(ErrorCode.SYSTEM_ERROR);
    server.close();
  });

  it('reports a missing socket as libvirt does', async () => {
    const e = await virErrorOf(Connect.open(`test+unix:///default?socket=${dir}/nothing.sock`));
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(e.message).toContain(`Failed to connect socket to '${dir}/nothing.sock'`);
  });
});

describe('TCP and TLS transports', () => {
  const pki = (): string => path.join(dir, 'pki');
  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'pki'));
    fs.mkdirSync(path.join(dir, 'rogue'));
    const sh = (cmd: string): void => {
      execFileSync('bash', ['-c', cmd], { cwd: dir, stdio: 'pipe' });
    };
    const key = 'openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
    sh(`${key} -x509 -days 1 -subj /CN=tsvirt-test-ca -keyout pki/cakey.pem -out pki/cacert.pem`);
    sh(`${key} -days 1 -subj /CN=rogue-ca -x509 -keyout rogue/cakey.pem -out rogue/rogueca.pem`);
    const sign = (name: string, ca: string, cn: string, san: string): void => {
      sh(`${key} -subj /CN=${cn} -keyout ${name}key.pem -out ${name}.csr`);
      sh(`openssl x509 -req -in ${name}.csr -CA ${ca}cert.pem -CAkey ${ca}key.pem -CAcreateserial -days 1 -out ${name}cert.pem -extfile <(printf "subjectAltName=${san}")`);
    };
    sign('pki/server', 'pki/ca', 'localhost', 'DNS:localhost,IP:127.0.0.1');
    sign('pki/client', 'pki/ca', 'client', 'DNS:client');
    fs.renameSync(path.join(dir, 'rogue/rogueca.pem'), path.join(dir, 'rogue/cacert.pem'));
    sign('rogue/client', 'rogue/ca', 'rogue', 'DNS:rogue');
    // The rogue client trusts the real CA for the server but holds a certificate of its own CA.
    fs.copyFileSync(path.join(dir, 'pki/cacert.pem'), path.join(dir, 'rogue/cacert.pem'));
  });

  it('serves plain TCP only when enabled, and TLS with verified client certificates', async () => {
    const daemon = await Daemon.start({
      auth: { tcp: 'none' },
      tcp: { host: '127.0.0.1', port: 0 },
      tls: { host: '127.0.0.1', port: 0, files: pkiFiles('server', pki()), verifyClient: true },
    });
    try {
      const { tcpPort, tlsPort } = daemon.addresses;
      const tcp = await Connect.open(`test+tcp://127.0.0.1:${tcpPort}/default`);
      expect(await tcp.getType()).toBe('TEST');
      await tcp.close();
      const t = await Connect.open(`test+tls://localhost:${tlsPort}/default?pkipath=${pki()}`);
      expect((await t.listAllDomains()).map((x) => x.name)).toContain('test');
      expect(await t.getURI()).toBe(`test+tls://localhost:${tlsPort}/default?pkipath=${pki()}`);
      await t.close();
      const rogue = await virErrorOf(Connect.open(`test+tls://localhost:${tlsPort}/default?pkipath=${path.join(dir, 'rogue')}`));
      // TLS 1.3 finishes the client's side of the handshake first; the refusal then shows as libvirt's RPC error.
      expect([ErrorCode.SYSTEM_ERROR, ErrorCode.INTERNAL_ERROR, ErrorCode.RPC]).toContain(rogue.code);
      const missing = await virErrorOf(Connect.open(`test+tls://localhost:${tlsPort}/default?pkipath=${dir}`));
      expect(missing.message).toContain('Cannot read CA certificate');
    } finally {
      await daemon.stop();
    }
  });
});
