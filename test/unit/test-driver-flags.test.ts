/**
 * Flags the test driver used to accept and ignore: START_AUTODESTROY (the domain dies with the
 * connection that started it), START_FORCE_BOOT (boot, discarding the managed image and its
 * channel files), SAVE_RESET_NVRAM (refused for a domain without NVRAM); and undefine with
 * MANAGED_SAVE removing a parallel managed image's FILE.k files.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CreateFlags, UndefineFlags } from '../../src/drivers/common/domain-flags';
import { VIR_DOMAIN_SAVE_RESET_NVRAM } from '../../src/drivers/common/save-flags';
import { DEFAULT_DOMAIN_XML } from '../../src/drivers/test/default-fixture';
import type { HypervisorDriver } from '../../src/drivers/driver-table';
import type { TestConnection } from '../../src/drivers/test/connection';
import { DomainState, RunningReason, ShutoffReason, type DomainRef } from '../../src/drivers/types';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { TypedParamType, type TypedParameter } from '../../src/util/typed-params';
import { openTest, rejection, rmrf, tempDir } from './test-driver-helpers';

const i = (field: string, value: number): TypedParameter => ({ field, type: TypedParamType.INT, value });
let dir: string;
let fixture: string;
let seq = 0;

function transientXML(name: string): string {
  return `<domain type='test'><name>${name}</name><memory>1024</memory><os><type>hvm</type></os></domain>`;
}

/** Files next to the managed image of `dom` that belong to it (FILE and FILE.k). */
async function managedFiles(c: Required<HypervisorDriver>, dom: DomainRef): Promise<string[]> {
  const path = (c as unknown as TestConnection).state.managedSavePath((c as unknown as TestConnection).state.resolve(dom));
  if (!existsSync(dirname(path))) return [];
  return (await readdir(dirname(path))).filter((f) => f.startsWith(basename(path))).sort();
}

beforeAll(async () => {
  dir = await tempDir('tdrv-flags');
  fixture = join(dir, 'fixture.xml');
  await writeFile(fixture, `<node>${DEFAULT_DOMAIN_XML}</node>`);
});
afterAll(() => rmrf(dir));

describe('START_AUTODESTROY', () => {
  test('createXML: the domain is destroyed when the starting connection closes, others stay', async () => {
    const keeper = await openTest();
    const starter = await openTest();
    try {
      const auto = await starter.domainCreateXML(transientXML(`auto-${++seq}`), CreateFlags.START_AUTODESTROY);
      const plain = await starter.domainCreateXML(transientXML(`plain-${++seq}`), 0);
      expect(await keeper.domainIsActive(auto)).toBe(true);
      await starter.connectClose();
      expect((await rejection(keeper.domainLookupByName(auto.name))).code).toBe(ErrorCode.NO_DOMAIN);
      expect(await keeper.domainIsActive(await keeper.domainLookupByName(plain.name))).toBe(true);
      await keeper.domainDestroy(plain, 0);
    } finally {
      await starter.connectClose();
      await keeper.connectClose();
    }
  });

  test('create of a defined domain: shut off (destroyed) on close; a later run by someone else survives', async () => {
    const keeper = await openTest();
    try {
      const name = `defined-${++seq}`;
      const dom = await keeper.domainDefineXML(transientXML(name), 0);
      const starter = await openTest();
      await starter.domainCreate(dom, CreateFlags.START_AUTODESTROY);
      await starter.connectClose();
      expect(await keeper.domainGetState(dom, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED });

      const second = await openTest();
      await second.domainCreate(dom, CreateFlags.START_AUTODESTROY);
      // Destroyed and started again by another connection: that run is not the second's to end.
      await keeper.domainDestroy(dom, 0);
      await keeper.domainCreate(dom, 0);
      await second.connectClose();
      expect(await keeper.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.BOOTED });
      await keeper.domainDestroy(dom, 0);
      await keeper.domainUndefine(dom, 0);
    } finally {
      await keeper.connectClose();
    }
  });
});

describe('managed save images with channel files', () => {
  let c: Required<HypervisorDriver>;
  let dom: DomainRef;
  beforeEach(async () => {
    c = await openTest(`test://${fixture}`);
    dom = await c.domainLookupByName('test');
  });
  afterEach(async () => {
    await c.connectClose();
  });

  test('START_FORCE_BOOT boots and removes the managed image and its FILE.k files', async () => {
    await c.domainSaveParams(dom, [i('parallel.channels', 3)], 0);
    expect(await managedFiles(c, dom)).toEqual(['test.save', 'test.save.1', 'test.save.2', 'test.save.3']);
    await c.domainCreate(dom, CreateFlags.START_FORCE_BOOT);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.BOOTED });
    expect(await c.domainHasManagedSaveImage(dom, 0)).toBe(false);
    expect(await managedFiles(c, dom)).toEqual([]);
  });

  test('undefine with MANAGED_SAVE removes FILE and every FILE.k', async () => {
    await c.domainSaveParams(dom, [i('parallel.channels', 2)], 0);
    expect(await managedFiles(c, dom)).toEqual(['test.save', 'test.save.1', 'test.save.2']);
    const refused = await rejection(c.domainUndefine(dom, 0));
    expect(refused.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(await managedFiles(c, dom)).toHaveLength(3);
    await c.domainUndefine(dom, UndefineFlags.MANAGED_SAVE);
    expect((await rejection(c.domainLookupByName('test'))).code).toBe(ErrorCode.NO_DOMAIN);
    const saveDir = (c as unknown as TestConnection).state.managedSaveDir;
    expect(existsSync(saveDir) ? (await readdir(saveDir)).filter((f) => f.startsWith('test.save')) : []).toEqual([]);
  });
});

describe('VIR_DOMAIN_SAVE_RESET_NVRAM', () => {
  let c: Required<HypervisorDriver>;
  beforeEach(async () => {
    c = await openTest(`test://${fixture}`);
  });
  afterEach(async () => {
    await c.connectClose();
  });

  test('refused with OPERATION_UNSUPPORTED for a domain without NVRAM; the image and domain stay as they were', async () => {
    const dom = await c.domainLookupByName('test');
    const file = join(dir, 'nvram-none.img');
    await c.domainSaveFlags(dom, file, null, 0);
    const before = await readFile(file);
    // One call at a time: both started at once, the second could reject while the first is awaited (unhandled).
    for (const attempt of [
      () => c.domainRestoreFlags(file, null, VIR_DOMAIN_SAVE_RESET_NVRAM),
      () => c.domainRestoreParams([{ field: 'file', type: TypedParamType.STRING, value: file }], VIR_DOMAIN_SAVE_RESET_NVRAM),
    ]) {
      const e = await rejection(attempt());
      expect(e.code).toBe(ErrorCode.OPERATION_UNSUPPORTED);
      expect(e.domain).toBe(ErrorDomain.TEST);
      expect(e.message).toBe("Operation not supported: cannot reset NVRAM of domain 'test': it has no NVRAM");
    }
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
    expect((await readFile(file)).equals(before)).toBe(true);
    // No job was left behind: a plain restore works at once.
    await c.domainRestore(file);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
  });

  test('accepted for a domain with <os><nvram> (the test hypervisor has no variables to keep)', async () => {
    const dom = await c.domainLookupByName('test');
    const file = join(dir, 'nvram-some.img');
    await c.domainSaveFlags(dom, file, null, 0);
    const xml = await c.domainSaveImageGetXMLDesc(file, 0);
    const withNvram = xml.replace('</os>', '<nvram>/var/tmp/test_VARS.fd</nvram></os>');
    expect(withNvram).not.toBe(xml);
    await c.domainRestoreFlags(file, withNvram, VIR_DOMAIN_SAVE_RESET_NVRAM);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
  });
});
