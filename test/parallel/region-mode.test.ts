import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MultifdSink, feedMultifd } from '../../src/drivers/qemu/multifd-relay';
import { copyRegions } from '../../src/drivers/qemu/region-copy';
import { ErrorCode, VirError } from '../../src';
import { guestHash, startBareQemu, type BareQemu } from './qemu-harness';

const MiB = 1024 * 1024;
const MEM = 128;
const RAM_OFFSET = 1 * MiB; // where the RAM region starts in the image (after a header area)

let dir: string;
let shm: string;
const running: BareQemu[] = [];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-region-'));
  shm = fs.mkdtempSync('/dev/shm/tsvirt-region-');
});
afterEach(async () => {
  while (running.length) await running.pop()!.kill();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(shm, { recursive: true, force: true });
});

const backend = (file: string): string[] => [
  '-object',
  `memory-backend-file,id=ram0,size=${MEM}M,mem-path=${file},share=on`,
  '-machine',
  'memory-backend=ram0',
];

async function ignoreShared(q: BareQemu): Promise<void> {
  await q.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
  await q.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 9223372036853727232 });
}

async function waitMigration(q: BareQemu): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const st = (await q.qmp.execute<{ status?: string }>('query-migrate')).status;
    if (st === 'completed') return;
    if (st === 'failed' || st === 'cancelled') throw new Error(`migration ${st}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('migration timed out');
}

describe('region mode: RAM copied in parallel regions, device state via x-ignore-shared', () => {
  it('saves RAM sparsely into one file and restores it bit for bit', async () => {
    const uuid = randomUUID();
    const ramA = path.join(shm, 'a');
    const src = await startBareQemu(dir, 'rsrc', MEM, uuid, backend(ramA));
    running.push(src);
    // Random bytes in the middle, zeros elsewhere: the zeros must become holes in the image.
    const fd = fs.openSync(ramA, 'r+');
    fs.writeSync(fd, randomBytes(40 * MiB), 0, 40 * MiB, 32 * MiB);
    fs.closeSync(fd);
    const want = await guestHash(src, dir, 0, MEM * MiB);

    const image = path.join(dir, 'region.img');
    const img = await fs.promises.open(image, 'w+');
    await img.truncate(RAM_OFFSET + MEM * MiB);
    const ram = await fs.promises.open(ramA, 'r');
    const digests = await copyRegions({ src: ram, srcOffset: 0, dst: img, dstOffset: RAM_OFFSET, size: MEM * MiB, workers: 4 });
    await ram.close();
    expect(digests).toHaveLength(4);
    expect(fs.statSync(image).blocks * 512).toBeLessThan(48 * MiB);

    await ignoreShared(src);
    const sink = await MultifdSink.listen({ socketPath: path.join(dir, 'dev.sock'), channels: 0, mainFile: img, mainOffset: RAM_OFFSET + MEM * MiB, channelPath: () => '' });
    await src.qmp.execute('migrate', { uri: `unix:${path.join(dir, 'dev.sock')}` });
    const [dev] = await sink.done;
    await waitMigration(src);
    await sink.close();
    await img.close();
    expect(dev.length).toBeLessThan(4 * MiB);

    // Restore into a fresh backend: copy with checksum verification, then the device state.
    const ramB = path.join(shm, 'b');
    const ramOut = await fs.promises.open(ramB, 'w+');
    await ramOut.truncate(MEM * MiB);
    const imgIn = await fs.promises.open(image, 'r');
    await copyRegions({ src: imgIn, srcOffset: RAM_OFFSET, dst: ramOut, dstOffset: 0, size: MEM * MiB, workers: 4, expect: digests });
    await imgIn.close();
    await ramOut.close();
    const dst = await startBareQemu(dir, 'rdst', MEM, uuid, [...backend(ramB), '-incoming', 'defer']);
    running.push(dst);
    await ignoreShared(dst);
    const inSock = path.join(dir, 'in.sock');
    await dst.qmp.execute('migrate-incoming', { uri: `unix:${inSock}` });
    await feedMultifd({ socketPath: inSock, sources: [{ channel: 0, path: image, offset: dev.offset, length: dev.length, sha256: dev.sha256 }] });
    await waitMigration(dst);
    expect(await guestHash(dst, dir, 0, MEM * MiB)).toBe(want);
  }, 120000);

  it('refuses a RAM region whose bytes changed', async () => {
    const image = path.join(dir, 'flip.img');
    const ramSrc = path.join(dir, 'ram-src');
    fs.writeFileSync(ramSrc, randomBytes(8 * MiB));
    const img = await fs.promises.open(image, 'w+');
    await img.truncate(8 * MiB);
    const src = await fs.promises.open(ramSrc, 'r');
    const digests = await copyRegions({ src, srcOffset: 0, dst: img, dstOffset: 0, size: 8 * MiB, workers: 2 });
    await src.close();
    // Flip bits of the stored byte: writing a fixed value leaves random data unchanged 1 time in 256.
    const b = Buffer.alloc(1);
    await img.read(b, 0, 1, 5 * MiB + 3);
    b[0] ^= 0xff;
    await img.write(b, 0, 1, 5 * MiB + 3);
    await img.close();
    const before = createHash('sha256').update(fs.readFileSync(image)).digest('hex');
    const out = await fs.promises.open(path.join(dir, 'ram-out'), 'w+');
    await out.truncate(8 * MiB);
    const imgIn = await fs.promises.open(image, 'r');
    let err: unknown;
    try {
      await copyRegions({ src: imgIn, srcOffset: 0, dst: out, dstOffset: 0, size: 8 * MiB, workers: 2, expect: digests, imageName: image });
    } catch (e) {
      err = e;
    }
    await imgIn.close();
    await out.close();
    expect(err).toBeInstanceOf(VirError);
    expect((err as VirError).code).toBe(ErrorCode.OPERATION_FAILED);
    expect((err as VirError).message).toContain(image);
    expect(createHash('sha256').update(fs.readFileSync(image)).digest('hex')).toBe(before);
  });
});
