/**
 * A real tsvirtd process driven as a hostile client would drive it: strings at the 4 MiB limit
 * that the error reply quotes, a CONNECT_OPEN naming a huge URI or `test:///dev/zero`,
 * `parallel.channels` far past QEMU's 255. After each, the daemon process is still alive, its
 * memory did not balloon, and a second, well-behaved client gets correct answers.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect, ErrorCode } from '../../src';
import { REMOTE_PROCEDURES as P } from '../../src/remote/protocol/table';
import { REMOTE_STRING_MAX } from '../../src/remote/protocol/constants';
import { MessageStatus, MessageType } from '../../src/remote/rpc/message';
import { spawnTsvirtd, type DaemonProcess } from './process-helpers';
import { RawClient } from './raw-client';
import { runTool } from './run-tool';

const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const HUGE = 'a'.repeat(REMOTE_STRING_MAX);
/** An absolute path of exactly REMOTE_STRING_MAX bytes. */
const HUGE_PATH = '/' + 'p'.repeat(REMOTE_STRING_MAX - 1);

let dir: string;
let daemon: DaemonProcess;
let rw: string;
let ro: string;
let holder: Connect;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

/** The daemon still runs and a fresh client is served correctly. */
async function expectHealthy(): Promise<void> {
  expect(daemon.child.exitCode).toBeNull();
  expect(daemon.child.signalCode).toBeNull();
  const c = await Connect.openReadOnly(`test+unix:///default?socket=${ro}`);
  try {
    const dom = await c.lookupDomainByName('test');
    expect(dom.uuid).toBe(TEST_UUID);
    expect((await c.listAllDomains()).map((d) => d.name)).toContain('test');
  } finally {
    await c.close();
  }
}

/** Opens a raw client on `sock` with test:///default. */
async function rawOpened(sock: string): Promise<RawClient> {
  const c = await RawClient.connect(sock);
  c.call(P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }, 1);
  expect((await c.next(10000))?.header.status).toBe(MessageStatus.OK);
  return c;
}

/** The next frame must be an ERROR reply to `serial`; returns its error. */
async function errorReply(c: RawClient, serial: number) {
  const r = await c.next(30000);
  expect(r).not.toBeNull();
  expect(r!.header).toMatchObject({ serial, type: MessageType.REPLY, status: MessageStatus.ERROR });
  const e = RawClient.error(r!);
  for (const s of [e.message, e.str1, e.str2, e.str3]) {
    if (s !== null) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(REMOTE_STRING_MAX);
  }
  return e;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirtd-abuse-'));
  daemon = await spawnTsvirtd(['--socket-dir', path.join(dir, 'sock')]);
  rw = path.join(dir, 'sock', 'libvirt-sock');
  ro = path.join(dir, 'sock', 'libvirt-sock-ro');
  // Keeps test:///default's state alive between the clients below.
  holder = await Connect.open(`test+unix:///default?socket=${rw}`);
}, 30000);
afterAll(async () => {
  await holder?.close().catch(() => undefined);
  if (daemon && daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tsvirtd survives what one client sends', () => {
  it('libvirt-python lookupByName of a 4 MiB name on the read-only socket gets NO_DOMAIN', async () => {
    const script = [
      'import sys, libvirt',
      'libvirt.registerErrorHandler(lambda *a: None, None)',
      'c = libvirt.openReadOnly(sys.argv[1])',
      'try:',
      "    c.lookupByName('a' * 4194304)",
      "    print('found')",
      'except libvirt.libvirtError as e:',
      '    print(e.get_error_code(), len(e.get_error_message()))',
    ].join('\n');
    const r = await runTool('/usr/bin/python3', ['-c', script, `test+unix:///default?socket=${ro}`], { timeoutMs: 60000 });
    expect(r.stderr).toBe('');
    const [code, len] = r.stdout.trim().split(' ').map(Number);
    expect(code).toBe(ErrorCode.NO_DOMAIN);
    expect(len).toBeGreaterThan(1000);
    await expectHealthy();
  });

  it('CONNECT_OPEN with a 4 MiB URI, before any open, gets an error reply', async () => {
    const c = await RawClient.connect(ro);
    c.call(P.CONNECT_OPEN, { name: `test:///${'u'.repeat(REMOTE_STRING_MAX - 8)}`, flags: 0 }, 1);
    await errorReply(c, 1);
    c.close();
    await expectHealthy();
  });

  it.each([
    ['DOMAIN_LOOKUP_BY_NAME', 'ro', (c: RawClient) => c.call(P.DOMAIN_LOOKUP_BY_NAME, { name: HUGE }, 2), ErrorCode.NO_DOMAIN],
    ['DOMAIN_GET_INFO', 'ro', (c: RawClient) => c.call(P.DOMAIN_GET_INFO, { dom: { name: HUGE, uuid: '00000000-0000-0000-0000-000000000001', id: 9 } }, 2), ErrorCode.NO_DOMAIN],
    ['DOMAIN_DEFINE_XML', 'rw', (c: RawClient) => c.call(P.DOMAIN_DEFINE_XML, { xml: `<domain type='test'><name>${'n'.repeat(REMOTE_STRING_MAX - 64)}</name>` }, 2), undefined],
    ['DOMAIN_SAVE_IMAGE_GET_XML_DESC', 'rw', (c: RawClient) => c.call(P.DOMAIN_SAVE_IMAGE_GET_XML_DESC, { file: HUGE_PATH, flags: 0 }, 2), undefined],
    ['DOMAIN_RESTORE', 'rw', (c: RawClient) => c.call(P.DOMAIN_RESTORE, { from: HUGE_PATH }, 2), undefined],
    [
      'DOMAIN_SAVE_PARAMS file',
      'rw',
      (c: RawClient) =>
        c.call(P.DOMAIN_SAVE_PARAMS, { dom: { name: 'test', uuid: TEST_UUID, id: 1 }, params: [{ field: 'file', type: 7, value: HUGE_PATH }], flags: 0 }, 2),
      undefined,
    ],
  ] as const)('%s quoting a 4 MiB string gets an error reply', async (_name, sock, send, code) => {
    const c = await rawOpened(sock === 'ro' ? ro : rw);
    send(c);
    const e = await errorReply(c, 2);
    if (code !== undefined) expect(e.code).toBe(code);
    // The same connection is still served.
    c.call(P.CONNECT_GET_TYPE, undefined, 3);
    expect((await c.next(10000))?.header).toMatchObject({ serial: 3, status: MessageStatus.OK });
    c.close();
    await expectHealthy();
  });

  it('refuses test:///dev/zero and a FIFO fixture at once, without growing', async () => {
    const fifo = path.join(dir, 'fixture.fifo');
    execFileSync('mkfifo', [fifo]);
    const before = rssKiB(daemon.child.pid as number);
    for (const name of ['test:///dev/zero', 'test:///dev/zero', 'test:///dev/zero', 'test:///dev/zero', `test://${fifo}`]) {
      const c = await RawClient.connect(ro);
      const t0 = Date.now();
      c.call(P.CONNECT_OPEN, { name, flags: 0 }, 1);
      const e = await errorReply(c, 1);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(e.message).toMatch(/not a regular file/);
      c.close();
    }
    // Reading /dev/zero for even a second would add hundreds of MiB.
    expect(rssKiB(daemon.child.pid as number) - before).toBeLessThan(64 * 1024);
    await expectHealthy();
  });

  it('refuses a fixture file past the size bound', async () => {
    const big = path.join(dir, 'big.xml');
    fs.writeFileSync(big, Buffer.alloc(16 * 1024 * 1024 + 1, 0x20));
    const c = await RawClient.connect(ro);
    c.call(P.CONNECT_OPEN, { name: `test://${big}`, flags: 0 }, 1);
    expect((await errorReply(c, 1)).message).toMatch(/larger than 16777216 bytes/);
    c.close();
    await expectHealthy();
  });

  it.each([256, 100000, 2147483647])('parallel.channels %d is INVALID_ARG, nothing allocated or left behind', async (n) => {
    const target = path.join(dir, `chan-${n}`, 'x.img');
    fs.mkdirSync(path.dirname(target));
    // Raw frames: libvirt-python 9.0 does not know the field and would send it as ullong.
    const c = await rawOpened(rw);
    c.call(
      P.DOMAIN_SAVE_PARAMS,
      {
        dom: { name: 'test', uuid: TEST_UUID, id: 1 },
        params: [
          { field: 'file', type: 7, value: target },
          { field: 'parallel.channels', type: 1, value: n },
        ],
        flags: 0,
      },
      2,
    );
    const e = await errorReply(c, 2);
    c.close();
    expect([e.code, e.message]).toEqual([ErrorCode.INVALID_ARG, 'invalid argument: number of parallel save channels cannot be more than 255']);
    expect(fs.readdirSync(path.dirname(target))).toEqual([]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('x.img'))).toEqual([]);
    const dom = await holder.lookupDomainByName('test');
    expect(await dom.isActive()).toBe(true);
    await expectHealthy();
  });

  it('a save into a directory that does not exist fails like libvirt and creates nothing', async () => {
    const target = path.join(dir, 'missing-dir', 'x.img');
    const dom = await holder.lookupDomainByName('test');
    await expect(dom.saveParams({ file: target, 'parallel.channels': 2 })).rejects.toMatchObject({
      code: ErrorCode.SYSTEM_ERROR,
      message: `Failed to create file '${target}': No such file or directory`,
    });
    expect(fs.existsSync(path.dirname(target))).toBe(false);
    expect(await dom.isActive()).toBe(true);
  });
});
