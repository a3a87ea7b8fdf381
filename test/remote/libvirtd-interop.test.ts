/**
 * tsvirt's remote driver against Debian's real libvirtd (its test driver): the handshake,
 * listing, lookups, save/restore and errors as libvirtd sends them.
 */
import path from 'node:path';
import { Connect, DomainState, ErrorCode, ErrorDomain, RunningReason, ShutoffReason } from '../../src';
import { virErrorOf } from '../conformance/helpers';
import { startLibvirtd, type RealLibvirtd } from './libvirtd-helpers';

let lv: RealLibvirtd;
let conn: Connect;

beforeAll(async () => {
  lv = await startLibvirtd();
  conn = await Connect.open(`test+unix:///default?socket=${lv.rw}`);
}, 30000);
afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await lv?.stop();
});

describe('tsvirt remote driver -> real libvirtd', () => {
  it('reports the connection and lists the default domain', async () => {
    expect(await conn.getType()).toBe('TEST');
    expect(await conn.getVersion()).toBeGreaterThan(0);
    expect(await conn.getHostname()).not.toBe('');
    const names = (await conn.listAllDomains()).map((d) => d.name);
    expect(names).toContain('test');
  });

  it('looks up by name, UUID and id and reads info and XML', async () => {
    const dom = await conn.lookupDomainByName('test');
    expect((await conn.lookupDomainByUUID(dom.uuid)).name).toBe('test');
    expect((await conn.lookupDomainByID(dom.id)).name).toBe('test');
    const info = await dom.getInfo();
    expect(info.state).toBe(DomainState.RUNNING);
    expect(info.maxMem).toBeGreaterThan(0);
    expect(await dom.getXMLDesc()).toContain('<name>test</name>');
    expect(await dom.isActive()).toBe(true);
  });

  it('saves and restores through libvirtd', async () => {
    const dom = await conn.lookupDomainByName('test');
    const file = path.join(lv.dir, 'test.save');
    await dom.save(file);
    expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
    expect(await conn.saveImageGetXMLDesc(file)).toContain('<name>test</name>');
    await conn.restore(file);
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
  });

  it('receives libvirtd errors with code, domain and message', async () => {
    const e = await virErrorOf(conn.lookupDomainByName('no-such-domain'));
    expect(e.code).toBe(ErrorCode.NO_DOMAIN);
    // libvirt's own test driver reports the bare template (no detail), unlike its QEMU driver.
    expect(e.message).toMatch(/^Domain not found/);
    expect(e.domain).toBe(ErrorDomain.TEST);
    expect(e.level).toBe(2);
    const dom = await conn.lookupDomainByName('test');
    // @ts-expect-error an unknown field does not compile; the check here is libvirtd's
    const e2 = await virErrorOf(dom.saveParams({ file: path.join(lv.dir, 'x.save'), bogus: 1 }));
    expect(e2.code).toBe(ErrorCode.ARGUMENT_UNSUPPORTED);
  });

  it('denies mutations on libvirtd read-only socket', async () => {
    const ro = await Connect.openReadOnly(`test+unix:///default?socket=${lv.ro}`);
    try {
      expect((await ro.listAllDomains()).length).toBeGreaterThan(0);
      const dom = await ro.lookupDomainByName('test');
      expect((await virErrorOf(dom.suspend())).code).toBe(ErrorCode.OPERATION_DENIED);
    } finally {
      await ro.close();
    }
  });
});
