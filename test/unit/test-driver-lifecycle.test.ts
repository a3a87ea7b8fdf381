import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { defaultStateRefs, testConnectionDriver } from '../../src/drivers/test';
import { DEFAULT_DOMAIN_XML } from '../../src/drivers/test/default-fixture';
import {
  DomainEventType,
  DomainState,
  EventDetail,
  PausedReason,
  RunningReason,
  ShutoffReason,
  type DomainLifecycleEvent,
} from '../../src/drivers/types';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { parseUri } from '../../src/util/uri';
import { flushEvents, openTest, rejection, rmrf, tempDir } from './test-driver-helpers';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
let dir: string;
beforeAll(async () => {
  dir = await tempDir('tdrv-life');
});
afterAll(() => rmrf(dir));

describe('test driver: connection and fixtures', () => {
  test('test:///default answers like libvirt', async () => {
    const c = await openTest();
    expect(await c.connectGetType()).toBe('TEST');
    expect(await c.connectGetVersion()).toBe(2);
    expect(await c.connectGetHostname()).toBe(hostname());
    expect(await c.connectGetURI()).toBe('test:///default');
    expect(await c.nodeGetInfo()).toEqual({ model: 'i686', memory: 3145728, cpus: 16, mhz: 1400, nodes: 2, sockets: 2, cores: 2, threads: 2 });
    const dom = await c.domainLookupByName('test');
    expect(dom).toEqual({ name: 'test', uuid: UUID, id: 1 });
    expect(await c.domainLookupByUUID(UUID.toUpperCase())).toEqual(dom);
    expect(await c.domainLookupByID(1)).toEqual(dom);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.UNKNOWN });
    const info = await c.domainGetInfo(dom);
    expect(info).toMatchObject({ state: DomainState.RUNNING, maxMem: 8388608, memory: 2097152, nrVirtCpu: 2 });
    expect(info.cpuTime > 0n).toBe(true);
    expect(await c.domainGetXMLDesc(dom, 0)).toBe(DEFAULT_DOMAIN_XML.replace("type='test'>", "type='test' id='1'>"));
    expect(await c.domainIsActive(dom)).toBe(true);
    expect(await c.domainIsPersistent(dom)).toBe(true);
    const nf = await rejection(c.domainLookupByName('nosuch'));
    expect(nf.code).toBe(ErrorCode.NO_DOMAIN);
    expect(nf.domain).toBe(ErrorDomain.TEST);
    expect(nf.message).toBe("Domain not found: no domain with matching name 'nosuch'");
    expect((await rejection(c.domainLookupByID(42))).code).toBe(ErrorCode.NO_DOMAIN);
    await c.connectClose();
  });

  test('URIs the driver refuses or declines', async () => {
    const empty = await rejection(testConnectionDriver.open(parseUri('test://'), { readOnly: false }));
    expect(empty.code).toBe(ErrorCode.INVALID_ARG);
    expect(empty.message).toBe('invalid argument: supply a path or use test:///default');
    const relative = { ...parseUri('test:///x.xml'), path: 'relative.xml' };
    expect((await rejection(testConnectionDriver.open(relative, { readOnly: false }))).code).toBe(ErrorCode.INVALID_ARG);
    expect(await testConnectionDriver.open(parseUri('qemu:///system'), { readOnly: false })).toEqual({ status: 'declined' });
    expect(await testConnectionDriver.open(undefined, { readOnly: false })).toEqual({ status: 'declined' });
    const missing = await rejection(testConnectionDriver.open(parseUri(`test://${dir}/nope.xml`), { readOnly: false }));
    expect(missing.code).toBe(ErrorCode.SYSTEM_ERROR);
  });

  test('a node fixture file: node info, domains inline and by file, runstate', async () => {
    await writeFile(join(dir, 'guest.xml'), "<domain type='test'><name>fromfile</name><memory>1024</memory><os><type>hvm</type></os></domain>");
    const fixture = join(dir, 'node.xml');
    await writeFile(
      fixture,
      `<node>
  <cpu><mhz>6000</mhz><model>i986</model><active>50</active><nodes>4</nodes><sockets>4</sockets><cores>4</cores><threads>2</threads></cpu>
  <memory>8192000</memory>
  <domain type='test'><name>inline</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>off</name><memory>512</memory><os><type>hvm</type></os><test:runstate>5</test:runstate></domain>
  <domain file='guest.xml'/>
</node>`,
    );
    const c = await openTest(`test://${fixture}`);
    expect(await c.connectGetURI()).toBe(`test://${fixture}`);
    expect(await c.nodeGetInfo()).toEqual({ model: 'i986', memory: 8192000, cpus: 50, mhz: 6000, nodes: 4, sockets: 4, cores: 4, threads: 2 });
    const all = await c.connectListAllDomains(0);
    expect(all.map((d) => d.name)).toEqual(['inline', 'off', 'fromfile']);
    expect((await c.connectListAllDomains(1)).map((d) => d.name)).toEqual(['inline', 'fromfile']);
    expect((await c.connectListAllDomains(2)).map((d) => d.name)).toEqual(['off']);
    const off = await c.domainLookupByName('off');
    expect(off.id).toBe(-1);
    expect(await c.domainGetState(off, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN });
    expect((await c.domainGetInfo(await c.domainLookupByName('inline'))).maxMem).toBe(65536);
    // a private state: the default one is not affected and vice versa
    const c2 = await openTest(`test://${fixture}`);
    await c2.domainDestroy(await c2.domainLookupByName('inline'), 0);
    expect((await c.domainGetState(await c.domainLookupByName('inline'), 0)).state).toBe(DomainState.RUNNING);
    await c.connectClose();
    await c2.connectClose();
  });

  test('a single-domain fixture and a broken fixture', async () => {
    const single = join(dir, 'single.xml');
    await writeFile(single, "<domain type='test'><name>solo</name><os><type>hvm</type></os></domain>");
    const c = await openTest(`test://${single}`);
    expect((await c.connectListAllDomains(0)).map((d) => d.name)).toEqual(['solo']);
    await c.connectClose();
    const broken = join(dir, 'broken.xml');
    await writeFile(broken, '<node><domain type="test"><name>x</name></node>');
    const e = await rejection(openTest(`test://${broken}`));
    expect(e.code).toBe(ErrorCode.XML_ERROR);
  });
});

describe('test driver: lifecycle on a private fixture', () => {
  let fixture: string;
  beforeAll(async () => {
    fixture = join(dir, 'life.xml');
    await writeFile(fixture, `<node>${DEFAULT_DOMAIN_XML}</node>`);
  });

  test('suspend / resume / destroy / create with reasons and events', async () => {
    const c = await openTest(`test://${fixture}`);
    const events: DomainLifecycleEvent[] = [];
    const cb = await c.connectDomainEventRegisterAny(0, null, (ev) => events.push(ev as DomainLifecycleEvent));
    const dom = await c.domainLookupByName('test');
    await c.domainSuspend(dom);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.PAUSED, reason: PausedReason.USER });
    const again = await rejection(c.domainSuspend(dom));
    expect(again.message).toBe("internal error: domain 'test' not running");
    await c.domainResume(dom);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.UNPAUSED });
    expect((await rejection(c.domainResume(dom))).message).toBe("internal error: domain 'test' not paused");
    await c.domainDestroy(dom, 0);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED });
    expect((await c.domainLookupByName('test')).id).toBe(-1);
    const notRunning = await rejection(c.domainDestroy(dom, 0));
    expect(notRunning.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(notRunning.message).toBe('Requested operation is not valid: domain is not running');
    const started = await c.domainCreate(dom, 0);
    expect(started.id).toBe(2);
    expect(await c.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.BOOTED });
    expect((await rejection(c.domainCreate(dom, 0))).code).toBe(ErrorCode.OPERATION_INVALID);
    const bad = await rejection(c.domainDestroy(dom, 0x100));
    expect(bad.message).toBe('invalid argument: unsupported flags (0x100) in function testDomainDestroyFlags');
    await flushEvents();
    expect(events.map((e) => [e.event, e.detail])).toEqual([
      [DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED],
      [DomainEventType.RESUMED, EventDetail.resumed.UNPAUSED],
      [DomainEventType.STOPPED, EventDetail.stopped.DESTROYED],
      [DomainEventType.STARTED, EventDetail.started.BOOTED],
    ]);
    await c.connectDomainEventDeregisterAny(cb);
    expect((await rejection(c.connectDomainEventDeregisterAny(cb))).code).toBe(ErrorCode.INVALID_ARG);
    await c.connectClose();
  });

  test('define / createXML / undefine', async () => {
    const c = await openTest(`test://${fixture}`);
    const xml = "<domain type='test'><name>d1</name><uuid>aaaaaaaa-0000-0000-0000-000000000001</uuid><memory>2048</memory><os><type>hvm</type></os></domain>";
    const d1 = await c.domainDefineXML(xml, 0);
    expect(d1).toEqual({ name: 'd1', uuid: 'aaaaaaaa-0000-0000-0000-000000000001', id: -1 });
    expect(await c.domainIsPersistent(d1)).toBe(true);
    expect(await c.domainGetXMLDesc(d1, 0)).toContain("<memory unit='KiB'>2048</memory>");
    const clash = await rejection(c.domainDefineXML(xml.replace('<name>d1</name>', '<name>other</name>'), 0));
    expect(clash.code).toBe(ErrorCode.OPERATION_FAILED);
    // a running domain that is undefined becomes transient, then disappears when stopped
    await c.domainCreate(d1, 0);
    await c.domainUndefine(d1, 0);
    expect(await c.domainIsPersistent(d1)).toBe(false);
    expect(await c.domainIsActive(d1)).toBe(true);
    await c.domainDestroy(d1, 0);
    expect((await rejection(c.domainLookupByName('d1'))).code).toBe(ErrorCode.NO_DOMAIN);
    // createXML: transient and running
    const t = await c.domainCreateXML(xml.replace(/d1/g, 't1').replace('0001', '0002'), 0);
    expect(t.id).toBeGreaterThan(0);
    expect(await c.domainIsPersistent(t)).toBe(false);
    expect((await c.connectListAllDomains(8)).map((d) => d.name)).toEqual(['t1']);
    expect((await rejection(c.domainCreateXML(xml.replace(/d1/g, 't1').replace('0001', '0002'), 0))).message).toBe(
      "Requested operation is not valid: domain 't1' is already active",
    );
    expect((await rejection(c.domainDefineXML('<domain', 0))).code).toBe(ErrorCode.XML_ERROR);
    await c.connectClose();
  });
});

describe('test driver: shared default state', () => {
  test('two opens of test:///default see the same domains until the last close', async () => {
    const refsBefore = defaultStateRefs();
    const a = await openTest();
    const b = await openTest();
    expect(defaultStateRefs()).toBe(refsBefore + 2);
    const dom = await a.domainLookupByName('test');
    await a.domainSuspend(dom);
    expect((await b.domainGetState(dom, 0)).state).toBe(DomainState.PAUSED);
    const seen: DomainLifecycleEvent[] = [];
    await b.connectDomainEventRegisterAny(0, null, (e) => seen.push(e as DomainLifecycleEvent));
    await a.domainResume(dom);
    await flushEvents();
    expect(seen.map((e) => e.event)).toEqual([DomainEventType.RESUMED]);
    await a.connectClose();
    await b.connectClose();
    expect(defaultStateRefs()).toBe(refsBefore);
    if (refsBefore === 0) {
      // the state was dropped: a new open starts from the fixture again
      const c = await openTest();
      expect(await c.domainGetState(await c.domainLookupByName('test'), 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.UNKNOWN });
      await c.connectClose();
    }
  });
});
