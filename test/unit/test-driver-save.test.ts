import { execFileSync } from 'node:child_process';
import { lstat, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSaveImageHeader, SAVE_HEADER_SIZE } from '../../src/conf/save-image';
import { DEFAULT_DOMAIN_XML } from '../../src/drivers/test/default-fixture';
import { CHUNK_SIZE, payloadChunk } from '../../src/drivers/test/payload';
import { VIR_DOMAIN_SAVE_PARALLEL, VIR_DOMAIN_SAVE_PAUSED, VIR_DOMAIN_SAVE_RUNNING } from '../../src/drivers/common/save-flags';
import {
  DomainEventType,
  DomainState,
  EventDetail,
  PausedReason,
  RunningReason,
  ShutoffReason,
  type DomainLifecycleEvent,
  type DomainRef,
} from '../../src/drivers/types';
import type { HypervisorDriver } from '../../src/drivers/driver-table';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { TypedParamType, type TypedParameter } from '../../src/util/typed-params';
import { flushEvents, ls, openTest, rejection, rmrf, tempDir } from './test-driver-helpers';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const PAYLOAD = 2097152; // 1 byte per KiB of currentMemory
let dir: string;
let fixture: string;
let c: Required<HypervisorDriver>;
let dom: DomainRef;

const s = (field: string, value: string): TypedParameter => ({ field, type: TypedParamType.STRING, value });
const i = (field: string, value: number): TypedParameter => ({ field, type: TypedParamType.INT, value });

beforeAll(async () => {
  dir = await tempDir('tdrv-save');
  fixture = join(dir, 'fixture.xml');
  await writeFile(fixture, `<node>${DEFAULT_DOMAIN_XML}</node>`);
});
afterAll(() => rmrf(dir));
beforeEach(async () => {
  c = await openTest(`test://${fixture}`);
  dom = await c.domainLookupByName('test');
});
afterEach(async () => {
  await c.connectClose();
});

describe('save and restore through channels', () => {
  test.each([1, 2, 4])('%d channel(s): files, header, restore', async (n) => {
    const file = join(dir, `img-${n}`);
    const events: DomainLifecycleEvent[] = [];
    await c.connectDomainEventRegisterAny(0, null, (e) => events.push(e as DomainLifecycleEvent));
    await c.domainSaveParams(dom, [s('file', file), i('parallel.channels', n)], 0);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
    expect((await c.domainLookupByName('test')).id).toBe(-1);
    const expected = [`img-${n}`, ...(n > 1 ? Array.from({ length: n }, (_, k) => `img-${n}.${k + 1}`) : [])];
    expect((await ls(dir)).filter((f) => f.startsWith(`img-${n}`))).toEqual(expected.sort());
    const raw = await readFile(file);
    expect(raw.toString('latin1', 0, 16)).toBe('LibvirtQemudSave');
    const info = await readSaveImageHeader(file);
    expect(info.header).toMatchObject({ version: 2, wasRunning: true, format: 0 });
    expect(info.xml).toBe(DEFAULT_DOMAIN_XML);
    expect(info.manifest).toMatchObject({ version: 1, channels: n, mode: n > 1 ? 'files' : 'single', compression: 'none', uuid: UUID });
    if (n === 1) {
      // record + the whole payload in the main file, the payload regenerates from the uuid
      expect(raw.length).toBe(info.streamOffset + 64 + PAYLOAD);
      expect(raw.subarray(info.streamOffset + 64, info.streamOffset + 64 + CHUNK_SIZE).equals(payloadChunk(UUID, 0, PAYLOAD))).toBe(true);
    } else {
      expect(raw.length).toBe(info.streamOffset + 64);
      let total = 0;
      for (let k = 1; k <= n; k++) {
        const ch = await readFile(`${file}.${k}`);
        expect(ch.readUInt32BE(0)).toBe(0x11223344);
        expect(ch.readUInt8(24)).toBe(k - 1);
        expect(ch.readUInt32BE(28)).toBe(n);
        expect(ch.subarray(64, 64 + CHUNK_SIZE).equals(payloadChunk(UUID, k - 1, PAYLOAD))).toBe(true);
        total += ch.length - 64;
      }
      expect(total).toBe(PAYLOAD);
    }
    // restore with the same channel count (or none given)
    await c.domainRestoreParams([s('file', file), ...(n > 1 ? [i('parallel.channels', n)] : [])], 0);
    const back = await c.domainLookupByName('test');
    expect(back.id).toBeGreaterThan(1);
    expect(await c.domainGetState(back, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    await flushEvents();
    // As libvirt's test driver: no "suspended" while the image is written.
    expect(events.map((e) => [e.event, e.detail])).toEqual([
      [DomainEventType.STOPPED, EventDetail.stopped.SAVED],
      [DomainEventType.STARTED, EventDetail.started.RESTORED],
    ]);
    // nothing was consumed by the restore
    expect((await stat(file)).size).toBe(raw.length);
  });

  test('PARALLEL flag alone uses 4 channels; region mode and zlib compression round trip', async () => {
    const f4 = join(dir, 'flag');
    await c.domainSaveFlags(dom, f4, null, VIR_DOMAIN_SAVE_PARALLEL);
    expect((await readSaveImageHeader(f4)).manifest?.channels).toBe(4);
    await c.domainRestoreFlags(f4, null, 0);

    const region = join(dir, 'region');
    await c.domainSaveParams(dom, [s('file', region), i('parallel.channels', 3), s('parallel.mode', 'region')], 0);
    const info = await readSaveImageHeader(region);
    expect(info.manifest?.mode).toBe('region');
    expect(info.manifest?.ram).toEqual({ offset: expect.any(Number), size: PAYLOAD });
    expect(info.manifest!.ram!.offset % 4096).toBe(0);
    expect((await ls(dir)).filter((f) => f.startsWith('region'))).toEqual(['region']);
    const raw = await readFile(region);
    expect(raw.subarray(info.manifest!.ram!.offset).equals(Buffer.concat(Array.from({ length: 32 }, (_, k) => payloadChunk(UUID, k, PAYLOAD))))).toBe(true);
    await c.domainRestoreParams([s('file', region)], 0);

    const z = join(dir, 'zlib');
    await c.domainSaveParams(dom, [s('file', z), i('parallel.channels', 2), s('parallel.compression', 'zlib')], 0);
    expect((await readSaveImageHeader(z)).manifest?.compression).toBe('zlib');
    await c.domainRestoreParams([s('file', z)], 0);
    expect((await c.domainGetState(dom, 0)).reason).toBe(RunningReason.RESTORED);
    // zstd works on every supported Node: node:zlib where it has zstd, the zstd program elsewhere.
    const zs = join(dir, 'zstd');
    await c.domainSaveParams(dom, [s('file', zs), i('parallel.channels', 2), s('parallel.compression', 'zstd')], 0);
    expect((await readSaveImageHeader(zs)).manifest?.compression).toBe('zstd');
    await c.domainRestoreParams([s('file', zs)], 0);
    expect((await c.domainGetState(dom, 0)).reason).toBe(RunningReason.RESTORED);
    expect((await rejection(c.domainSaveParams(dom, [s('file', join(dir, 'gz')), s('image_format', 'gzip')], 0))).code).toBe(
      ErrorCode.OPERATION_UNSUPPORTED,
    );
    expect(await c.domainIsActive(dom)).toBe(true);
  });

  test('errors: inactive domain, active target, flags, channel mismatch, dxml identity', async () => {
    const file = join(dir, 'errs');
    const badFlags = await rejection(c.domainSaveParams(dom, [s('file', file)], 0x100));
    expect(badFlags.message).toBe('invalid argument: unsupported flags (0x100) in function testDomainSaveParams');
    const badDxml = await rejection(c.domainSaveFlags(dom, file, DEFAULT_DOMAIN_XML.replace('<name>test</name>', '<name>x</name>'), 0));
    expect(badDxml.code).toBe(ErrorCode.INVALID_ARG);
    await c.domainSave(dom, file);
    const inactive = await rejection(c.domainSave(dom, join(dir, 'errs2')));
    expect(inactive.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(inactive.domain).toBe(ErrorDomain.DOMAIN);
    expect(inactive.message).toBe('Requested operation is not valid: domain is not running');
    const mismatch = await rejection(c.domainRestoreParams([s('file', file), i('parallel.channels', 2)], 0));
    expect(mismatch.code).toBe(ErrorCode.INVALID_ARG);
    expect((await rejection(c.domainRestoreParams([], 0))).message).toBe('invalid argument: missing path to restore from');
    await c.domainRestore(file);
    const active = await rejection(c.domainRestore(file));
    expect(active.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(active.message).toBe("Requested operation is not valid: domain 'test' is already active");
    const missing = await rejection(c.domainRestore(join(dir, 'nonexist')));
    expect(missing.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(missing.message).toBe(`cannot read domain image '${join(dir, 'nonexist')}': No such file or directory`);
  });

  test('dxml on save and restore; paused restores; save-image-define', async () => {
    const file = join(dir, 'dxml');
    const described = DEFAULT_DOMAIN_XML.replace('<uuid>', '<description>saved</description>\n  <uuid>');
    await c.domainSaveFlags(dom, file, described, 0);
    expect(await c.domainSaveImageGetXMLDesc(file, 0)).toContain('<description>saved</description>');
    await c.domainRestoreFlags(file, null, VIR_DOMAIN_SAVE_PAUSED);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.PAUSED, reason: PausedReason.MIGRATION });
    expect(await c.domainGetXMLDesc(dom, 0)).toContain('<description>saved</description>');
    // saving a paused guest records was_running = 0; RUNNING on restore overrides it
    await c.domainSave(dom, file);
    expect((await readSaveImageHeader(file)).header.wasRunning).toBe(false);
    await c.domainRestoreFlags(file, null, VIR_DOMAIN_SAVE_RUNNING);
    expect((await c.domainGetState(dom, 0)).state).toBe(DomainState.RUNNING);
    await c.domainSave(dom, file);
    await c.domainSaveImageDefineXML(file, DEFAULT_DOMAIN_XML.replace('<uuid>', '<title>T</title>\n  <uuid>'), VIR_DOMAIN_SAVE_PAUSED);
    const info = await readSaveImageHeader(file);
    expect(info.header.wasRunning).toBe(false);
    expect(info.xml).toContain('<title>T</title>');
    expect(info.manifest?.channels).toBe(1);
    const wrong = await rejection(c.domainSaveImageDefineXML(file, DEFAULT_DOMAIN_XML.replace(UUID, UUID.replace('6695', '7777')), 0));
    expect(wrong.code).toBe(ErrorCode.INVALID_ARG);
    const both = await rejection(c.domainSaveImageDefineXML(file, DEFAULT_DOMAIN_XML, VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED));
    expect(both.code).toBe(ErrorCode.INVALID_ARG);
    await c.domainRestore(file);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.PAUSED, reason: PausedReason.MIGRATION });
    const badRestoreDxml = await rejection(c.domainSave(dom, file).then(() => c.domainRestoreFlags(file, DEFAULT_DOMAIN_XML.replace('<name>test</name>', '<name>y</name>'), 0)));
    expect(badRestoreDxml.code).toBe(ErrorCode.INVALID_ARG);
    expect((await c.domainGetState(dom, 0)).state).toBe(DomainState.SHUTOFF);
  });

  test('an existing image is replaced only on success; stale channel files go', async () => {
    const file = join(dir, 'replace');
    await c.domainSaveParams(dom, [s('file', file), i('parallel.channels', 4)], 0);
    await c.domainRestore(file);
    await c.domainSaveParams(dom, [s('file', file), i('parallel.channels', 2)], 0);
    expect((await ls(dir)).filter((f) => f.startsWith('replace'))).toEqual(['replace', 'replace.1', 'replace.2']);
    await c.domainRestore(file);
    await c.domainSaveParams(dom, [s('file', file)], 0);
    expect((await ls(dir)).filter((f) => f.startsWith('replace'))).toEqual(['replace']);
    expect((await readFile(file)).length).toBeGreaterThan(SAVE_HEADER_SIZE + PAYLOAD);
  });

  test('managed save: image, has/remove, create restores it', async () => {
    expect(await c.domainHasManagedSaveImage(dom, 0)).toBe(false);
    await c.domainManagedSave(dom, 0);
    expect(await c.domainHasManagedSaveImage(dom, 0)).toBe(true);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
    expect((await c.connectListAllDomains(256)).map((d) => d.name)).toEqual(['test']);
    const started = await c.domainCreate(dom, 0);
    expect(started.id).toBeGreaterThan(0);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    expect(await c.domainHasManagedSaveImage(dom, 0)).toBe(false);
    // managed save through SaveParams without file, with channels, then remove
    await c.domainSaveParams(dom, [i('parallel.channels', 2)], 0);
    expect(await c.domainHasManagedSaveImage(dom, 0)).toBe(true);
    const undef = await rejection(c.domainUndefine(dom, 0));
    expect(undef.code).toBe(ErrorCode.OPERATION_INVALID);
    await c.domainManagedSaveRemove(dom, 0);
    expect(await c.domainHasManagedSaveImage(dom, 0)).toBe(false);
    await c.domainCreate(dom, 0);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.BOOTED });
  });
});

describe('image paths the test driver refuses or follows, as the QEMU driver does', () => {
  it('a FIFO or a directory at the path: INVALID_ARG, the domain keeps running, the FIFO stays', async () => {
    const fifo = join(dir, 'a-fifo');
    execFileSync('mkfifo', [fifo]);
    const before = await c.domainGetState(dom, 0);
    expect(before.state).toBe(DomainState.RUNNING);
    for (const p of [fifo, dir]) {
      const e = await rejection(c.domainSaveParams(dom, [s('file', p)], 0));
      expect(e.code).toBe(ErrorCode.INVALID_ARG);
      expect(e.message).toContain('not a regular file');
    }
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(await c.domainGetState(dom, 0)).toEqual(before);
  });

  it('a missing directory: SYSTEM_ERROR, nothing created; a symlink: its target is replaced, the link kept', async () => {
    const e = await rejection(c.domainSaveParams(dom, [s('file', join(dir, 'no-dir', 'x.img'))], 0));
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(e.message).toContain('No such file or directory');
    const targetFile = join(dir, 'link-target.img');
    await writeFile(targetFile, 'earlier');
    const link = join(dir, 'link.img');
    await symlink(targetFile, link);
    await c.domainSaveParams(dom, [s('file', link)], 0);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readSaveImageHeader(targetFile)).xml).toContain('<name>test</name>');
    expect((await ls(dir)).filter((f) => f.includes('tsvirt-partial'))).toEqual([]);
  });
});
