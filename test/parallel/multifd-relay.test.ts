import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MultifdSink, feedMultifd, type SinkStream } from '../../src/drivers/qemu/multifd-relay';
import { ErrorCode, VirError } from '../../src';
import { fillRandom } from '../helpers/qemu-guest';
import { guestHash, startBareQemu, type BareQemu } from './qemu-harness';

const MiB = 1024 * 1024;
const MEM = 128;
const FROM = 16 * MiB;
const TO = 112 * MiB;

let dir: string;
const running: BareQemu[] = [];
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-multifd-'))));
afterEach(async () => {
  while (running.length) await running.pop()!.kill();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function multifdCaps(q: BareQemu, channels: number, compression: string): Promise<void> {
  await q.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'multifd', state: true }] });
  await q.qmp.execute('migrate-set-parameters', { 'multifd-channels': channels, 'multifd-compression': compression, 'max-bandwidth': 9223372036853727232 });
}

async function waitMigration(q: BareQemu, ms = 60000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const st = (await q.qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate')).status;
    if (st === 'completed') return;
    if (st === 'failed' || st === 'cancelled') throw new Error(`migration ${st}`);
    if (Date.now() > end) throw new Error('migration timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function save(channels: number, compression: string, uuid: string): Promise<{ streams: SinkStream[]; hash: string; main: string }> {
  const src = await startBareQemu(dir, `src${channels}${compression}`, MEM, uuid);
  running.push(src);
  const hash = fillRandom(src.pid, MEM * MiB, FROM, TO);
  await multifdCaps(src, channels, compression);
  const main = path.join(dir, `img-${channels}-${compression}`);
  const mainFile = await fs.promises.open(main, 'w');
  const sink = await MultifdSink.listen({ socketPath: path.join(dir, 'out.sock'), channels, mainFile, mainOffset: 0, channelPath: (k) => `${main}.${k}` });
  await src.qmp.execute('migrate', { uri: `unix:${path.join(dir, 'out.sock')}` });
  const streams = await sink.done;
  await waitMigration(src);
  await mainFile.close();
  await sink.close();
  return { streams, hash, main };
}

async function restore(channels: number, compression: string, uuid: string, streams: SinkStream[], main: string): Promise<BareQemu> {
  const dst = await startBareQemu(dir, `dst${channels}${compression}`, MEM, uuid, ['-incoming', 'defer']);
  running.push(dst);
  await multifdCaps(dst, channels, compression);
  const inSock = path.join(dir, `in-${channels}.sock`);
  await dst.qmp.execute('migrate-incoming', { uri: `unix:${inSock}` });
  await feedMultifd({ socketPath: inSock, sources: streams.map((s) => ({ ...s, path: s.channel === 0 ? main : s.path })) });
  await waitMigration(dst);
  return dst;
}

describe('multifd relay against QEMU', () => {
  it.each([
    [2, 'none'],
    [4, 'none'],
    [2, 'zstd'],
  ])('saves %i channels (%s) to files and restores the same RAM', async (channels, compression) => {
    const uuid = randomUUID();
    const { streams, hash, main } = await save(channels, compression, uuid);
    expect(streams.map((s) => s.channel)).toEqual([0, ...Array.from({ length: channels }, (_, k) => k + 1)]);
    for (const s of streams.slice(1)) {
      const head = Buffer.alloc(64);
      const fd = fs.openSync(s.path, 'r');
      fs.readSync(fd, head, 0, 64, 0);
      fs.closeSync(fd);
      expect(head.readUInt32BE(0)).toBe(0x11223344);
      expect(head[24]).toBe(s.channel - 1);
      expect(fs.statSync(s.path).size).toBe(s.length);
    }
    expect(fs.readFileSync(main).subarray(0, 4).toString('latin1')).toBe('QEVM');
    const dst = await restore(channels, compression, uuid, streams, main);
    expect(await guestHash(dst, dir, FROM, TO)).toBe(hash);
  }, 120000);

  it('names the channel file whose bytes were changed, before the guest could run', async () => {
    const uuid = randomUUID();
    const { streams, main } = await save(2, 'none', uuid);
    const victim = streams[2];
    const fd = fs.openSync(victim.path, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, victim.length - 5000);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, victim.length - 5000);
    fs.closeSync(fd);
    let err: unknown;
    try {
      await restore(2, 'none', uuid, streams, main);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VirError);
    expect((err as VirError).code).toBe(ErrorCode.OPERATION_FAILED);
    expect((err as VirError).message).toContain(victim.path);
  }, 120000);
});
