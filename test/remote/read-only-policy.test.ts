/**
 * libvirt's read-only rules, procedure by procedure: every call procedure tsvirt declares is
 * sent as a raw frame on the read-only socket of tsvirtd and of Debian's real libvirtd 9.0. A
 * procedure tsvirt declares mutating must be refused with OPERATION_DENIED by both daemons
 * (so the declaration matches libvirt), and one tsvirt allows must be refused by neither.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connect, ErrorCode, ErrorDomain } from '../../src';
import type { ProcedureDef } from '../../src/remote/protocol/procedure';
import { PROCEDURE_TABLE } from '../../src/remote/protocol/table';
import { MessageStatus } from '../../src/remote/rpc/message';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { startLibvirtd, type RealLibvirtd } from './libvirtd-helpers';
import { RawClient } from './raw-client';

const dom = { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 };
const XML = "<domain type='test'><name>ro-probe</name><memory>65536</memory><os><type>hvm</type></os></domain>";

/** Arguments for each call procedure; a declared procedure missing here fails the test. */
function sampleArgs(file: string): Record<string, unknown> {
  const domOnly = { dom };
  const domFlags = { dom, flags: 0 };
  return {
    CONNECT_GET_TYPE: undefined,
    CONNECT_GET_VERSION: undefined,
    NODE_GET_INFO: undefined,
    CONNECT_LIST_DEFINED_DOMAINS: { maxnames: 10 },
    CONNECT_NUM_OF_DEFINED_DOMAINS: undefined,
    CONNECT_LIST_DOMAINS: { maxids: 10 },
    CONNECT_NUM_OF_DOMAINS: undefined,
    CONNECT_GET_HOSTNAME: undefined,
    CONNECT_SUPPORTS_FEATURE: { feature: 9 },
    AUTH_LIST: undefined,
    AUTH_SASL_INIT: undefined,
    AUTH_SASL_START: { mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.from('n,,n=x,r=y') },
    AUTH_SASL_STEP: { nil: 0, data: Buffer.from('c=biws') },
    CONNECT_GET_CAPABILITIES: undefined,
    CONNECT_GET_URI: undefined,
    NODE_GET_SECURITY_MODEL: undefined,
    CONNECT_IS_SECURE: undefined,
    CONNECT_GET_LIB_VERSION: undefined,
    CONNECT_LIST_ALL_DOMAINS: { need_results: 1, flags: 0 },
    CONNECT_REGISTER_CLOSE_CALLBACK: undefined,
    CONNECT_UNREGISTER_CLOSE_CALLBACK: undefined,
    CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: { eventID: 0, dom: null },
    CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: { callbackID: 12345 },
    DOMAIN_CREATE: domOnly,
    DOMAIN_CREATE_XML: { xml_desc: XML, flags: 0 },
    DOMAIN_DEFINE_XML: { xml: XML },
    DOMAIN_DESTROY: domOnly,
    DOMAIN_GET_XML_DESC: domFlags,
    DOMAIN_GET_AUTOSTART: domOnly,
    DOMAIN_GET_INFO: domOnly,
    DOMAIN_GET_OS_TYPE: domOnly,
    DOMAIN_LOOKUP_BY_ID: { id: 1 },
    DOMAIN_LOOKUP_BY_NAME: { name: 'test' },
    DOMAIN_LOOKUP_BY_UUID: { uuid: dom.uuid },
    DOMAIN_RESUME: domOnly,
    DOMAIN_SUSPEND: domOnly,
    DOMAIN_SET_AUTOSTART: { dom, autostart: true },
    DOMAIN_SHUTDOWN: domOnly,
    DOMAIN_SHUTDOWN_FLAGS: domFlags,
    DOMAIN_REBOOT: domFlags,
    DOMAIN_RESET: domFlags,
    DOMAIN_UNDEFINE: domOnly,
    DOMAIN_GET_SECURITY_LABEL: domOnly,
    DOMAIN_IS_ACTIVE: domOnly,
    DOMAIN_IS_PERSISTENT: domOnly,
    DOMAIN_DESTROY_FLAGS: domFlags,
    DOMAIN_UNDEFINE_FLAGS: domFlags,
    DOMAIN_CREATE_WITH_FLAGS: domFlags,
    DOMAIN_GET_STATE: domFlags,
    DOMAIN_DEFINE_XML_FLAGS: { xml: XML, flags: 0 },
    DOMAIN_GET_MESSAGES: domFlags,
    DOMAIN_RESTORE: { from: file },
    DOMAIN_SAVE: { dom, to: file },
    DOMAIN_GET_JOB_INFO: domOnly,
    DOMAIN_ABORT_JOB: domOnly,
    DOMAIN_MANAGED_SAVE: domFlags,
    DOMAIN_HAS_MANAGED_SAVE_IMAGE: domFlags,
    DOMAIN_MANAGED_SAVE_REMOVE: domFlags,
    DOMAIN_SAVE_FLAGS: { dom, to: file, dxml: null, flags: 0 },
    DOMAIN_RESTORE_FLAGS: { from: file, dxml: null, flags: 0 },
    DOMAIN_SAVE_IMAGE_GET_XML_DESC: { file, flags: 0 },
    DOMAIN_SAVE_IMAGE_DEFINE_XML: { file, dxml: XML, flags: 0 },
    DOMAIN_GET_JOB_STATS: domFlags,
    DOMAIN_SAVE_PARAMS: { dom, params: [{ field: 'file', type: 7, value: file }], flags: 0 },
    DOMAIN_RESTORE_PARAMS: { params: [{ field: 'file', type: 7, value: file }], flags: 0 },
    DOMAIN_ABORT_JOB_FLAGS: domFlags,
    CONNECT_LIST_ALL_STORAGE_POOLS: { need_results: 1, flags: 0 },
    CONNECT_GET_DOMAIN_CAPABILITIES: { emulatorbin: null, arch: null, machine: null, virttype: null, flags: 0 },
    DOMAIN_MANAGED_SAVE_GET_XML_DESC: domFlags,
    DOMAIN_MANAGED_SAVE_DEFINE_XML: { dom, dxml: XML, flags: 0 },
  };
}

/** The handshake itself is not judged. */
const HANDSHAKE = new Set(['CONNECT_OPEN', 'CONNECT_CLOSE']);
const CALLS = PROCEDURE_TABLE.filter((p) => p.kind === 'call' && !HANDSHAKE.has(p.name));

interface Answer {
  ok: boolean;
  code?: number;
  domain?: number;
  message?: string;
}

/** Sends each call on a fresh read-only connection to `sock`, one at a time. */
async function ask(sock: string, calls: Array<{ proc: ProcedureDef; args: unknown }>): Promise<Answer[]> {
  const c = await RawClient.connect(sock);
  try {
    c.call(PROCEDURE_TABLE.find((p) => p.name === 'CONNECT_OPEN') as ProcedureDef, { name: 'test:///default', flags: 1 }, 1);
    const opened = await c.next(10000);
    expect(opened?.header.status).toBe(MessageStatus.OK);
    const out: Answer[] = [];
    let serial = 2;
    for (const { proc, args } of calls) {
      c.call(proc, args, serial);
      const r = await c.next(10000);
      if (!r) throw new Error(`no answer to ${proc.name} from ${sock}`);
      expect(r.header.serial).toBe(serial++);
      if (r.header.status === MessageStatus.OK) {
        out.push({ ok: true });
      } else {
        const e = RawClient.error(r);
        out.push({ ok: false, code: e.code, domain: e.domain, message: e.message });
      }
    }
    return out;
  } finally {
    c.close();
  }
}

let ts: TestDaemon;
let lv: RealLibvirtd;
let holders: Connect[] = [];
let file: string;

beforeAll(async () => {
  ts = await startTestDaemon();
  lv = await startLibvirtd();
  file = path.join(ts.dir, 'ro.save');
  // Holders keep each daemon's test:///default alive; `file` must never come to exist.
  holders = [await Connect.open(`test+unix:///default?socket=${ts.rw}`), await Connect.open(`test+unix:///default?socket=${lv.rw}`)];
}, 30000);
afterAll(async () => {
  for (const h of holders) await h.close().catch(() => undefined);
  await ts?.stop();
  await lv?.stop();
});

describe('read-only sockets refuse exactly what libvirt refuses', () => {
  it('has sample arguments for every declared call procedure', () => {
    const samples = sampleArgs(file);
    expect(CALLS.filter((p) => !(p.name in samples)).map((p) => p.name)).toEqual([]);
  });

  it('every procedure declared mutating is OPERATION_DENIED by tsvirtd and by libvirtd; the others by neither', async () => {
    const samples = sampleArgs(file);
    const calls = CALLS.map((proc) => ({ proc, args: samples[proc.name] }));
    const [mine, theirs] = [await ask(ts.ro, calls), await ask(lv.ro, calls)];
    const rows = calls.map(({ proc }, i) => ({
      name: proc.name,
      declared: proc.readOnly?.kind === 'deny' ? 'deny' : 'allow',
      tsvirtd: mine[i].code === ErrorCode.OPERATION_DENIED ? 'deny' : 'allow',
      libvirtd: theirs[i].code === ErrorCode.OPERATION_DENIED ? 'deny' : 'allow',
    }));
    const mismatches = rows.filter((r) => r.declared !== r.tsvirtd || r.declared !== r.libvirtd);
    expect(mismatches).toEqual([]);
    // The procedures this covers include the ones the issue names.
    const denied = rows.filter((r) => r.declared === 'deny').map((r) => r.name);
    expect(denied).toEqual(expect.arrayContaining(['DOMAIN_SAVE_IMAGE_GET_XML_DESC', 'DOMAIN_DESTROY_FLAGS', 'DOMAIN_SAVE_PARAMS', 'DOMAIN_RESTORE_PARAMS']));
    expect(denied.length).toBeGreaterThanOrEqual(20);
    // tsvirtd words and places the denial as libvirtd does.
    calls.forEach(({ proc }, i) => {
      if (proc.readOnly?.kind !== 'deny') return;
      expect({ name: proc.name, ...mine[i] }).toEqual({
        name: proc.name,
        ok: false,
        code: ErrorCode.OPERATION_DENIED,
        domain: ErrorDomain.DOMAIN,
        message: `operation forbidden: read only access prevents ${proc.readOnly.fn}`,
      });
      expect(theirs[i]).toEqual(mine[i]);
    });
    // Nothing slipped through: no image was written, the domain runs.
    expect(fs.existsSync(file)).toBe(false);
    expect(await (await holders[0].lookupDomainByName('test')).isActive()).toBe(true);
  });

  it('DOMAIN_GET_XML_DESC: refused with VIR_DOMAIN_XML_SECURE, served without, by both daemons', async () => {
    const proc = PROCEDURE_TABLE.find((p) => p.name === 'DOMAIN_GET_XML_DESC') as ProcedureDef;
    const calls = [
      { proc, args: { dom, flags: 1 } },
      { proc, args: { dom, flags: 0 } },
    ];
    for (const sock of [ts.ro, lv.ro]) {
      const [secure, plain] = await ask(sock, calls);
      expect(secure).toEqual({
        ok: false,
        code: ErrorCode.OPERATION_DENIED,
        domain: ErrorDomain.DOMAIN,
        message: 'operation forbidden: virDomainGetXMLDesc with secure flag',
      });
      expect(plain).toEqual({ ok: true });
    }
    // The read-write socket serves the secure XML.
    const rw = await Connect.open(`test+unix:///default?socket=${ts.rw}`);
    try {
      expect(await (await rw.lookupDomainByName('test')).getXMLDesc(1)).toContain('<name>test</name>');
    } finally {
      await rw.close();
    }
  });

  it('a connection opened read-only on the read-write socket follows the same rules', async () => {
    const ro = await Connect.openReadOnly(`test+unix:///default?socket=${ts.rw}`);
    try {
      const d = await ro.lookupDomainByName('test');
      await expect(d.getXMLDesc(1)).rejects.toMatchObject({ code: ErrorCode.OPERATION_DENIED });
      await expect(ro.saveImageGetXMLDesc(file)).rejects.toMatchObject({ code: ErrorCode.OPERATION_DENIED });
      expect(await d.getXMLDesc(0)).toContain('<name>test</name>');
    } finally {
      await ro.close();
    }
  });
});
