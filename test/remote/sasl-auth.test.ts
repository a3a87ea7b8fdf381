/**
 * Authentication as libvirtd does it, on a real tsvirtd process: SASL (SCRAM-SHA-256 against
 * the daemon's user database) on the read-write socket and over TLS, none on the read-only
 * socket, tls_allowed_dn_list, and plain TCP refused unless auth_tcp = "none" is explicit.
 * Clients: libvirt-python's openAuth and stock virsh (cyrus-sasl's SCRAM plugin from Debian's
 * libsasl2-modules), tsvirt's own remote driver, and a raw client for the hostile cases
 * (calls before authentication, an exchange replayed, SASL data past its limit, wrong passwords).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect, ErrorCode, ErrorDomain } from '../../src';
import { parseConfig } from '../../src/daemon/config';
import { REMOTE_AUTH_SASL_DATA_MAX, RemoteAuthType } from '../../src/remote/protocol/constants';
import { decodeRet, type ProcedureDef } from '../../src/remote/protocol/procedure';
import { REMOTE_PROCEDURES as P } from '../../src/remote/protocol/table';
import { MessageStatus, MessageType, REMOTE_PROGRAM, encodeMessage, type RpcMessage } from '../../src/remote/rpc/message';
import { encodeXdr, xdr } from '../../src/remote/xdr';
import { nonnullString } from '../../src/remote/protocol/types';
import { deriveKeys, hmac, saltedPassword, xorBytes } from '../../src/remote/sasl/scram';
import { makeCa, pkiDir, signCert } from './pki-helpers';
import { spawnTsvirtd, type DaemonProcess } from './process-helpers';
import { RawClient } from './raw-client';
import { runTool } from './run-tool';

const PY = '/usr/bin/python3';
let dir: string;
let daemon: DaemonProcess;
let rw: string;
let ro: string;
let tlsPort: number;
let db: string;

const PY_OPEN_AUTH = `
import libvirt, sys
def cb(creds, data):
    for c in creds:
        if c[0] == libvirt.VIR_CRED_AUTHNAME: c[4] = sys.argv[2]
        elif c[0] == libvirt.VIR_CRED_PASSPHRASE: c[4] = sys.argv[3]
    return 0
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    c = libvirt.openAuth(sys.argv[1], [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, None], 0)
    print("OK", c.getType(), ",".join(sorted(d.name() for d in c.listAllDomains())))
    c.close()
except libvirt.libvirtError as e:
    print("ERR", e.get_error_code(), e.get_error_domain(), e.get_error_message())
`;

async function pyOpenAuth(uri: string, user: string, password: string): Promise<string> {
  const r = await runTool(PY, ['-c', PY_OPEN_AUTH, uri, user, password]);
  return r.stdout.trim() || r.stderr.trim();
}

async function tsvirtd(args: string[]): Promise<DaemonProcess> {
  return spawnTsvirtd(args);
}

/** Runs `tsvirtd sasl-user ...` as a user would, the password on stdin. */
async function saslUser(args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  const d = await spawnTsvirtd(['sasl-user', ...args, '--sasl-db', db], false);
  d.child.stdin?.end(stdin);
  let out = '';
  d.child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const code = await d.exited;
  return { code, out, err: d.stderr() };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-sasl-'));
  db = path.join(dir, 'users');
  expect((await saslUser(['add', 'alice'], 's3cret-pw\n')).code).toBe(0);
  expect((await saslUser(['add', 'bob'], 'bob-pw\n')).code).toBe(0);
  const ca = path.join(dir, 'ca');
  makeCa(ca, '/C=GB/O=tsvirt/CN=tsvirt-test-ca');
  signCert(ca, path.join(dir, 'certs'), 'server', '/C=GB/O=tsvirt/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
  signCert(ca, path.join(dir, 'certs'), 'allowed', '/C=GB/O=tsvirt/CN=allowed-client', 'DNS:allowed-client');
  signCert(ca, path.join(dir, 'certs'), 'other', '/C=FR/O=elsewhere/CN=other-client', 'DNS:other-client');
  pkiDir(ca, path.join(dir, 'certs'), 'server', 'server', path.join(dir, 'pki-server'));
  pkiDir(ca, path.join(dir, 'certs'), 'allowed', 'client', path.join(dir, 'pki-allowed'));
  pkiDir(ca, path.join(dir, 'certs'), 'other', 'client', path.join(dir, 'pki-other'));
  const conf = path.join(dir, 'tsvirtd.conf');
  fs.writeFileSync(
    conf,
    [
      'auth_unix_rw = "sasl"',
      'auth_unix_ro = "none"',
      'auth_tls = "sasl"',
      `sasl_user_db = "${db}"`,
      'sasl_allowed_username_list = ["alice", "b*"]',
      'tls_allowed_dn_list = ["C=GB,O=tsvirt,CN=allowed-*"]',
      'listen_addr = "127.0.0.1"',
      'tls_port = 0',
      '',
    ].join('\n'),
  );
  daemon = await tsvirtd(['-f', conf, '--socket-dir', path.join(dir, 'sock'), '--listen', '--pki-path', path.join(dir, 'pki-server')]);
  const addrs = JSON.parse(/listening on (\{.*\})/.exec(daemon.stderr())?.[1] ?? '{}');
  rw = addrs.rwSocket;
  ro = addrs.roSocket;
  tlsPort = addrs.tlsPort;
  expect(tlsPort).toBeGreaterThan(0);
}, 60000);

afterAll(async () => {
  daemon?.child.kill('SIGTERM');
  await daemon?.exited;
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  // Whatever a case did, the daemon is still up.
  expect(daemon.child.exitCode).toBeNull();
});

const rwUri = (): string => `test+unix:///default?socket=${rw}`;
const tlsUri = (pki: string): string => `test+tls://localhost:${tlsPort}/default?pkipath=${path.join(dir, pki)}`;

function authFile(user: string, password: string, host = 'localhost'): string {
  const f = path.join(dir, `auth-${user}-${host}.conf`);
  fs.writeFileSync(f, `[credentials-x]\nauthname=${user}\npassword=${password}\n\n[auth-libvirt-${host}]\ncredentials=x\n`);
  return f;
}

/** Sends one call and returns its reply frame. */
async function rawCall<A>(c: RawClient, proc: ProcedureDef<A>, args: A, serial: number): Promise<RpcMessage> {
  c.call(proc, args, serial);
  const m = await c.next(5000);
  if (!m) throw new Error(`no reply to ${proc.name}`);
  return m;
}

describe('SASL on the read-write socket', () => {
  it('AUTH_LIST reports SASL on the read-write socket and NONE on the read-only one', async () => {
    for (const [sock, want] of [
      [rw, RemoteAuthType.SASL],
      [ro, RemoteAuthType.NONE],
    ] as const) {
      const c = await RawClient.connect(sock);
      const m = await rawCall(c, P.AUTH_LIST, undefined, 1);
      expect(decodeRet(P.AUTH_LIST, m.body).types).toEqual([want]);
      c.close();
    }
    const roConn = await Connect.openReadOnly(`test+unix:///default?socket=${ro}`);
    expect(await roConn.getType()).toBe('TEST');
    await roConn.close();
  });

  it('libvirt-python openAuth logs in with the right password only', async () => {
    expect(await pyOpenAuth(rwUri(), 'alice', 's3cret-pw')).toBe('OK TEST test');
    expect(await pyOpenAuth(rwUri(), 'alice', 'wrong')).toBe(`ERR ${ErrorCode.AUTH_FAILED} ${ErrorDomain.RPC} authentication failed`);
    expect(await pyOpenAuth(rwUri(), 'mallory', 's3cret-pw')).toBe(`ERR ${ErrorCode.AUTH_FAILED} ${ErrorDomain.RPC} authentication failed`);
  });

  it('stock virsh reads its credentials from the auth file', async () => {
    const ok = await runTool('virsh', ['-c', rwUri(), 'list', '--all'], { env: { LIBVIRT_AUTH_FILE: authFile('bob', 'bob-pw') } });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/test\s+running/);
    const bad = await runTool('virsh', ['-c', rwUri(), 'list'], { env: { LIBVIRT_AUTH_FILE: authFile('bob', 'nope') } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('authentication failed');
  });

  it("tsvirt's remote driver authenticates from the same auth file", async () => {
    process.env.LIBVIRT_AUTH_FILE = authFile('alice', 's3cret-pw');
    try {
      const c = await Connect.open(rwUri());
      expect((await c.listAllDomains()).map((d) => d.name)).toEqual(['test']);
      await c.close();
      process.env.LIBVIRT_AUTH_FILE = authFile('alice', 'bad');
      const e = await Connect.open(rwUri()).then(
        () => null,
        (err) => err,
      );
      expect(e?.code).toBe(ErrorCode.AUTH_FAILED);
      process.env.LIBVIRT_AUTH_FILE = path.join(dir, 'no-such-auth.conf');
      const none = await Connect.open(rwUri()).catch((err) => err);
      expect(none.code).toBe(ErrorCode.AUTH_FAILED);
      expect(none.message).toContain('no SASL user name and password');
    } finally {
      delete process.env.LIBVIRT_AUTH_FILE;
    }
  });

  it('refuses every procedure but AUTH_* before authentication', async () => {
    const c = await RawClient.connect(rw);
    let serial = 1;
    const denied = [
      () => rawCall(c, P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }, serial++),
      () => rawCall(c, P.CONNECT_SUPPORTS_FEATURE, { feature: 10 }, serial++),
      () => rawCall(c, P.CONNECT_GET_TYPE, undefined, serial++),
      () => rawCall(c, P.DOMAIN_LOOKUP_BY_NAME, { name: 'test' }, serial++),
      () => rawCall(c, P.DOMAIN_DESTROY, { dom: { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 } }, serial++),
    ];
    for (const call of denied) {
      const e = RawClient.error(await call());
      expect(e.code).toBe(ErrorCode.RPC);
      expect(e.message).toContain('authentication required');
    }
    // SASL steps out of order are refused too.
    const step = RawClient.error(await rawCall(c, P.AUTH_SASL_STEP, { nil: 0, data: Buffer.from('c=biws') }, serial++));
    expect(step.code).toBe(ErrorCode.AUTH_FAILED);
    const start = RawClient.error(await rawCall(c, P.AUTH_SASL_START, { mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.from('n,,n=alice,r=abc') }, serial++));
    expect(start.code).toBe(ErrorCode.AUTH_FAILED);
    c.close();
  });

  it('a replayed exchange fails, and so does SASL data past REMOTE_AUTH_SASL_DATA_MAX', async () => {
    // A full, successful exchange by hand, recording what the client sent.
    const c = await RawClient.connect(rw);
    const init = decodeRet(P.AUTH_SASL_INIT, (await rawCall(c, P.AUTH_SASL_INIT, undefined, 1)).body);
    expect(init.mechlist).toBe('SCRAM-SHA-256');
    const bare = 'n=alice,r=fixed-client-nonce';
    const first = Buffer.from(`n,,${bare}`);
    const sf = decodeRet(P.AUTH_SASL_START, (await rawCall(c, P.AUTH_SASL_START, { mech: 'SCRAM-SHA-256', nil: 0, data: first }, 2)).body);
    const serverFirst = sf.data.toString();
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    const keys = deriveKeys(saltedPassword('s3cret-pw', Buffer.from(attrs.s, 'base64'), Number(attrs.i)));
    const noProof = `c=biws,r=${attrs.r}`;
    const authMessage = `${bare},${serverFirst},${noProof}`;
    const final = Buffer.from(`${noProof},p=${xorBytes(keys.clientKey, hmac(keys.storedKey, authMessage)).toString('base64')}`);
    const done = await rawCall(c, P.AUTH_SASL_STEP, { nil: 0, data: final }, 3);
    expect(done.header.status).toBe(MessageStatus.OK);
    expect(decodeRet(P.AUTH_SASL_STEP, done.body).complete).toBe(1);
    // Authenticated: a second exchange on the same connection is refused, the connection works.
    expect(RawClient.error(await rawCall(c, P.AUTH_SASL_INIT, undefined, 4)).code).toBe(ErrorCode.AUTH_FAILED);
    expect((await rawCall(c, P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }, 5)).header.status).toBe(MessageStatus.OK);
    c.close();

    // The recorded messages replayed on a new connection: the server's nonce differs, so they fail.
    const r = await RawClient.connect(rw);
    await rawCall(r, P.AUTH_SASL_INIT, undefined, 1);
    await rawCall(r, P.AUTH_SASL_START, { mech: 'SCRAM-SHA-256', nil: 0, data: first }, 2);
    expect(RawClient.error(await rawCall(r, P.AUTH_SASL_STEP, { nil: 0, data: final }, 3)).code).toBe(ErrorCode.AUTH_FAILED);
    expect(RawClient.error(await rawCall(r, P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }, 4)).message).toContain('authentication required');

    // One byte past the limit is refused while decoding, before the SCRAM code sees it.
    await rawCall(r, P.AUTH_SASL_INIT, undefined, 5);
    // The same layout with a larger bound writes what the daemon's own type refuses to.
    const loose = xdr.struct({ mech: nonnullString, nil: xdr.int, data: xdr.charBytes(REMOTE_AUTH_SASL_DATA_MAX * 2) });
    const body = encodeXdr(loose, { mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.alloc(REMOTE_AUTH_SASL_DATA_MAX + 1, 0x41) });
    r.write(encodeMessage({ prog: REMOTE_PROGRAM, vers: 1, proc: P.AUTH_SASL_START.number, type: MessageType.CALL, serial: 6, status: MessageStatus.OK }, body));
    const tooBig = await r.next(5000);
    expect(tooBig?.header.serial).toBe(6);
    expect(RawClient.error(tooBig as RpcMessage).code).toBe(ErrorCode.RPC);
    r.close();
  });

  it('after three failed exchanges a connection may not try again', async () => {
    const c = await RawClient.connect(rw);
    let serial = 1;
    for (let i = 0; i < 3; i++) {
      await rawCall(c, P.AUTH_SASL_INIT, undefined, serial++);
      await rawCall(c, P.AUTH_SASL_START, { mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.from(`n,,n=alice,r=n${i}`) }, serial++);
      const e = RawClient.error(await rawCall(c, P.AUTH_SASL_STEP, { nil: 0, data: Buffer.from(`c=biws,r=n${i},p=AAAA`) }, serial++));
      expect(e.code).toBe(ErrorCode.AUTH_FAILED);
    }
    expect(RawClient.error(await rawCall(c, P.AUTH_SASL_INIT, undefined, serial++)).code).toBe(ErrorCode.AUTH_FAILED);
    c.close();
  });

  it('a user in the database but not in sasl_allowed_username_list is refused', async () => {
    expect((await saslUser(['add', 'carol'], 'carol-pw\n')).code).toBe(0);
    expect((await saslUser(['list'])).out.split('\n').filter(Boolean)).toEqual(['alice', 'bob', 'carol']);
    expect(await pyOpenAuth(rwUri(), 'carol', 'carol-pw')).toContain(`ERR ${ErrorCode.AUTH_FAILED}`);
    expect((await saslUser(['delete', 'carol'])).code).toBe(0);
    const again = await saslUser(['delete', 'carol']);
    expect(again.code).toBe(2);
    expect(again.err).toContain("no SASL user 'carol'");
  });
});

describe('TLS with client certificates and tls_allowed_dn_list', () => {
  it('a client whose DN is on the list authenticates with SASL over TLS (virsh, libvirt-python, tsvirt)', async () => {
    expect(await pyOpenAuth(tlsUri('pki-allowed'), 'alice', 's3cret-pw')).toBe('OK TEST test');
    expect(await pyOpenAuth(tlsUri('pki-allowed'), 'alice', 'nope')).toContain(`ERR ${ErrorCode.AUTH_FAILED}`);
    const v = await runTool('virsh', ['-c', tlsUri('pki-allowed'), 'domstate', 'test'], { env: { LIBVIRT_AUTH_FILE: authFile('bob', 'bob-pw') } });
    expect(v.stderr).toBe('');
    expect(v.stdout.trim()).toBe('running');
    process.env.LIBVIRT_AUTH_FILE = authFile('alice', 's3cret-pw');
    try {
      const c = await Connect.open(tlsUri('pki-allowed'));
      expect(await c.getType()).toBe('TEST');
      await c.close();
    } finally {
      delete process.env.LIBVIRT_AUTH_FILE;
    }
  });

  it('a client with a valid certificate whose DN is not on the list is dropped', async () => {
    const v = await runTool('virsh', ['-c', tlsUri('pki-other'), 'list'], { env: { LIBVIRT_AUTH_FILE: authFile('bob', 'bob-pw') } });
    expect(v.code).not.toBe(0);
    expect(await pyOpenAuth(tlsUri('pki-other'), 'alice', 's3cret-pw')).toMatch(/^ERR /);
    process.env.LIBVIRT_AUTH_FILE = authFile('alice', 's3cret-pw');
    try {
      await expect(Connect.open(tlsUri('pki-other'))).rejects.toMatchObject({ name: 'VirError' });
    } finally {
      delete process.env.LIBVIRT_AUTH_FILE;
    }
  });
});

describe('listener authentication settings', () => {
  it('--listen-tcp refuses to start with the default auth_tcp (sasl) and starts, warning, with an explicit "none"', async () => {
    const sock = path.join(dir, 'tcp-sock');
    const refused = await spawnTsvirtd(['--socket-dir', sock, '--listen-tcp', '--listen-addr', '127.0.0.1', '--tcp-port', '0'], false);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toContain('auth_tcp = "sasl" needs a SASL mechanism with a security layer');
    const conf = path.join(dir, 'tcp.conf');
    fs.writeFileSync(conf, 'auth_tcp = "none"\nlisten_addr = "127.0.0.1"\ntcp_port = 0\n');
    const open = await spawnTsvirtd(['-f', conf, '--socket-dir', sock, '--listen-tcp']);
    try {
      expect(open.stderr()).toContain('warning: plain TCP listener with auth_tcp = "none"');
      const port = JSON.parse(/listening on (\{.*\})/.exec(open.stderr())?.[1] ?? '{}').tcpPort;
      const c = await Connect.open(`test+tcp://127.0.0.1:${port}/default`);
      expect(await c.getType()).toBe('TEST');
      await c.close();
    } finally {
      open.child.kill('SIGTERM');
      await open.exited;
    }
  }, 40000);

  it('refuses unknown schemes and parses libvirtd.conf lists', async () => {
    const conf = path.join(dir, 'polkit.conf');
    fs.writeFileSync(conf, 'auth_unix_rw = "polkit"\n');
    const d = await spawnTsvirtd(['-f', conf, '--socket-dir', path.join(dir, 'pk-sock')], false);
    expect(await d.exited).toBe(2);
    expect(d.stderr()).toContain('auth_unix_rw = "polkit"');
    expect(parseConfig('tls_allowed_dn_list = ["C=GB,ST=London,CN=*", "CN=a\\\\,b"]  # two\nx = []\ny = "s"\n')).toEqual({
      tls_allowed_dn_list: ['C=GB,ST=London,CN=*', 'CN=a\\,b'],
      x: [],
      y: 's',
    });
    expect(() => parseConfig('x = ["a" "b"]\n')).toThrow(/expected key/);
    expect(() => parseConfig('x = ["a",\n')).toThrow(/expected key/);
  }, 30000);
});
