/**
 * The typed event model: the hub's id and domain filters, the public registration checks, the
 * wire layout of each event message tsvirt carries (byte for byte, as remote_protocol.x lays them
 * out), virsh's event texts, and the test driver's autostart and security answers.
 */
import { Connect, DomainEventId, DomainEventType, ErrorCode, ErrorDomain, ListAllDomainsFlags, TypedParamType, type DomainEventInfo } from '../../src';
import { eventText } from '../../src/cli/commands/events';
import { typedParamText } from '../../src/cli/format';
import { DomainEventHub } from '../../src/drivers/common/event-hub';
import type { DomainEvent } from '../../src/drivers/types';
import { decodeArgs, encodeArgs } from '../../src/remote/protocol/procedure';
import { EVENT_MESSAGE_CODECS, eventCodecByProcedure } from '../../src/remote/protocol/procedures-events';
import { virErrorOf } from '../conformance/helpers';
import { flushEvents } from './test-driver-helpers';

const A = { name: 'a', uuid: '11111111-2222-3333-4444-555555555555', id: 3 };
const B = { name: 'b', uuid: '66666666-7777-8888-9999-aaaaaaaaaaaa', id: -1 };

describe('DomainEventHub', () => {
  test('delivers each event to the callbacks of its id and, when filtered, of its domain', async () => {
    const hub = new DomainEventHub(ErrorDomain.TEST);
    const got: string[] = [];
    hub.register(DomainEventId.LIFECYCLE, null, (e) => got.push(`life-all ${e.domain.name}`));
    hub.register(DomainEventId.LIFECYCLE, B, (e) => got.push(`life-b ${e.domain.name}`));
    hub.register(DomainEventId.REBOOT, null, (e) => got.push(`reboot ${e.domain.name}`));
    hub.register(DomainEventId.JOB_COMPLETED, A, (e) => got.push(`job-a ${e.eventId === DomainEventId.JOB_COMPLETED ? e.params.length : -1}`));
    hub.emit({ domain: A, event: DomainEventType.SUSPENDED, detail: 0 });
    hub.raise({ eventId: DomainEventId.REBOOT, domain: B });
    hub.emit({ domain: B, event: DomainEventType.RESUMED, detail: 0 });
    hub.raise({ eventId: DomainEventId.JOB_COMPLETED, domain: B, params: [] });
    hub.raise({ eventId: DomainEventId.JOB_COMPLETED, domain: A, params: [{ field: 'success', type: TypedParamType.BOOLEAN, value: true }] });
    expect(got).toEqual([]);
    await flushEvents();
    expect(got).toEqual(['life-all a', 'reboot b', 'life-all b', 'life-b b', 'job-a 1']);
  });
});

describe('public registration', () => {
  test('every id libvirt knows is accepted, others are INVALID_ARG; a domain filter applies', async () => {
    const conn = await Connect.open('test:///default');
    try {
      const e = await virErrorOf(conn.domainEventRegisterAny(-1 as DomainEventId, () => undefined));
      expect([e.code, e.domain, e.message]).toEqual([ErrorCode.INVALID_ARG, ErrorDomain.NONE, 'invalid argument: eventID in virConnectDomainEventRegisterAny must be less than 27']);
      expect((await virErrorOf(conn.domainEventRegisterAny(1.5 as DomainEventId, () => undefined))).code).toBe(ErrorCode.INVALID_ARG);
      const ids = [];
      for (let id = 0; id < 27; id++) ids.push(await conn.domainEventRegisterAny(id as DomainEventId, () => undefined));
      expect(new Set(ids).size).toBe(27);
      for (const id of ids) await conn.domainEventDeregisterAny(id);
      const test = await conn.lookupDomainByName('test');
      const seen: Array<DomainEventInfo<DomainEventId.LIFECYCLE>> = [];
      const id = await conn.domainEventRegisterAny(DomainEventId.LIFECYCLE, (ev) => seen.push(ev), test);
      const legacy: number[] = [];
      const lid = await conn.domainEventRegister((ev) => legacy.push(ev.event));
      const other = await conn.defineXML("<domain type='test'><name>ev-unit</name><memory>65536</memory><os><type>hvm</type></os></domain>");
      await test.suspend();
      await test.resume();
      await other.undefine();
      await flushEvents();
      expect(seen.map((ev) => [ev.domain.name, ev.event])).toEqual([
        ['test', DomainEventType.SUSPENDED],
        ['test', DomainEventType.RESUMED],
      ]);
      // The Domain handle of an event is usable.
      expect((await seen[0].domain.getState()).state).toBeGreaterThan(0);
      expect(legacy).toEqual([DomainEventType.DEFINED, DomainEventType.SUSPENDED, DomainEventType.RESUMED, DomainEventType.UNDEFINED]);
      await conn.domainEventDeregisterAny(id);
      await conn.domainEventDeregister(lid);
      expect((await virErrorOf(conn.domainEventDeregisterAny(id))).code).toBe(ErrorCode.INVALID_ARG);
    } finally {
      await conn.close();
    }
  });
});

describe('event messages on the wire', () => {
  const dom = { name: 'vm', uuid: '00112233-4455-6677-8899-aabbccddeeff', id: 7 };
  // remote_nonnull_domain: string "vm" (length, 2 bytes + 2 padding), 16 uuid bytes, int id.
  const domBytes = '00000002 766d0000 00112233445566778899aabbccddeeff 00000007';
  const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

  test('procedure numbers and layouts: lifecycle 318, reboot 319, job-completed 363', () => {
    expect([...EVENT_MESSAGE_CODECS.values()].map((c) => [c.eventId, c.proc.number, c.proc.kind])).toEqual([
      [0, 318, 'message'],
      [1, 319, 'message'],
      [21, 363, 'message'],
    ]);
    const life = EVENT_MESSAGE_CODECS.get(0)!;
    expect(encodeArgs(life.proc, life.toWire(5, { eventId: 0, domain: dom, event: 5, detail: 4 }))).toEqual(hex(`00000005 ${domBytes} 00000005 00000004`));
    const reboot = EVENT_MESSAGE_CODECS.get(1)!;
    expect(encodeArgs(reboot.proc, reboot.toWire(9, { eventId: 1, domain: dom }))).toEqual(hex(`00000009 ${domBytes}`));
    const job = EVENT_MESSAGE_CODECS.get(21)!;
    const params = [
      { field: 'operation', type: TypedParamType.INT, value: 2 },
      { field: 'success', type: TypedParamType.BOOLEAN, value: true },
    ];
    const body = encodeArgs(job.proc, job.toWire(2, { eventId: 21, domain: dom, params }));
    // callbackID, dom, params<> count 2, then each {field string, type discriminant, value}.
    expect(body).toEqual(
      hex(`00000002 ${domBytes} 00000002 00000009 6f7065726174696f6e000000 00000001 00000002 00000007 73756363657373 00 00000006 00000001`),
    );
    for (const [payload, codec] of [
      [body, job],
      [encodeArgs(reboot.proc, reboot.toWire(9, { eventId: 1, domain: dom })), reboot],
    ] as const) {
      const back = eventCodecByProcedure(codec.proc.number)!.fromWire(decodeArgs(codec.proc, payload));
      expect(back.event.domain).toEqual(dom);
      expect(back.event.eventId).toBe(codec.eventId);
    }
    expect(job.fromWire(decodeArgs(job.proc, body)).event.params).toEqual(params);
    expect(eventCodecByProcedure(320)).toBeUndefined();
  });
});

describe("virsh's event texts", () => {
  const d = { name: 'vm' } as unknown as DomainEventInfo['domain'];
  test.each<[DomainEvent | DomainEventInfo, string]>([
    [{ eventId: DomainEventId.LIFECYCLE, domain: d, event: DomainEventType.SHUTDOWN, detail: 1 } as DomainEventInfo, "event 'lifecycle' for domain 'vm': Shutdown Finished after guest request\n"],
    [{ eventId: DomainEventId.LIFECYCLE, domain: d, event: 42, detail: 0 } as DomainEventInfo, "event 'lifecycle' for domain 'vm': unknown unknown\n"],
    [{ eventId: DomainEventId.REBOOT, domain: d } as DomainEventInfo, "event 'reboot' for domain 'vm'\n"],
    [
      { eventId: DomainEventId.JOB_COMPLETED, domain: d, params: [{ field: 'time_elapsed', type: TypedParamType.ULLONG, value: 12n }, { field: 'success', type: TypedParamType.BOOLEAN, value: false }] } as DomainEventInfo,
      "event 'job-completed' for domain 'vm':\n\ttime_elapsed: 12\n\tsuccess: 0\n",
    ],
  ])('%# %s', (ev, text) => {
    expect(eventText(ev as DomainEventInfo)).toBe(text);
  });

  test('typed parameter values as printf does them (%g for doubles)', () => {
    const dbl = (value: number) => typedParamText({ field: 'x', type: TypedParamType.DOUBLE, value });
    expect([dbl(1.5), dbl(0.1), dbl(100000), dbl(1234567), dbl(0.00001234), dbl(0), dbl(2.25e-7), dbl(123456.7)]).toEqual([
      '1.5',
      '0.1',
      '100000',
      '1.23457e+06',
      '1.234e-05',
      '0',
      '2.25e-07',
      '123457',
    ]);
    expect(typedParamText({ field: 's', type: TypedParamType.STRING, value: 'x y' })).toBe('x y');
    expect(typedParamText({ field: 'i', type: TypedParamType.LLONG, value: -3n })).toBe('-3');
  });
});

describe('test driver autostart and security', () => {
  test('autostart in memory, transient domains too (as libvirt 9), listed by the filters', async () => {
    const conn = await Connect.open('test:///default');
    try {
      const test = await conn.lookupDomainByName('test');
      expect(await test.getAutostart()).toBe(false);
      await test.setAutostart(true);
      expect(await test.getAutostart()).toBe(true);
      expect((await conn.listAllDomains(ListAllDomainsFlags.AUTOSTART)).map((x) => x.name)).toEqual(['test']);
      expect(await conn.listAllDomains(ListAllDomainsFlags.NO_AUTOSTART)).toEqual([]);
      const t = await conn.createXML("<domain type='test'><name>ev-transient</name><memory>65536</memory><os><type>hvm</type></os></domain>");
      await t.setAutostart(true);
      expect(await t.getAutostart()).toBe(true);
      await t.destroy();
      await test.setAutostart(false);
      expect(await conn.listAllDomains(ListAllDomainsFlags.AUTOSTART)).toEqual([]);
      const ro = await Connect.openReadOnly('test:///default');
      const e = await virErrorOf((await ro.lookupDomainByName('test')).setAutostart(true));
      expect([e.code, e.message]).toEqual([ErrorCode.OPERATION_DENIED, 'operation forbidden: read only access prevents virDomainSetAutostart']);
      await ro.close();
      expect(await conn.getSecurityModel()).toEqual({ model: 'testSecurity', doi: '' });
      expect(await test.getSecurityLabel()).toEqual({ label: 'libvirt-test', enforcing: true });
      await test.destroy();
      expect(await test.getSecurityLabel()).toEqual({ label: '', enforcing: false });
    } finally {
      await conn.close();
    }
  });
});
