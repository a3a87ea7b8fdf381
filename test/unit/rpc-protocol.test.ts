import { ErrorCode, ErrorDomain, ErrorLevel } from '../../src/util/error-codes';
import { TypedParamType } from '../../src/util/typed-params';
import { VirError } from '../../src/util/vir-error';
import { decodeXdr, encodeXdr } from '../../src/remote/xdr';
import {
  PROCEDURE_TABLE,
  REMOTE_PROCEDURES,
  REMOTE_STRING_MAX,
  bytesToUuid,
  decodeArgs,
  decodeRet,
  encodeArgs,
  encodeRet,
  nonnullDomain,
  procedureByName,
  procedureByNumber,
  remoteError,
  remoteErrorToVirError,
  remoteErrorWire,
  typedParam,
  uuidToBytes,
  virErrorToRemoteError,
} from '../../src/remote/protocol';
import { MessageStatus, MessageType, REMOTE_PROGRAM, decodeMessage, encodeMessage } from '../../src/remote/rpc/message';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Independent XDR building blocks for expected bytes (not using the codec under test). */
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};
const str = (s: string): Buffer => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u32(bytes.length), bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
};
const some = (s: string): Buffer => Buffer.concat([u32(1), str(s)]);
const none = u32(0);

const DEMO = { name: 'demo', uuid: 'c7a5fdbd-cdaf-9455-926a-d65c16db1809', id: 1 };

/** Every procedure wire-protocol.md lists. */
const LISTED = [
  1, 2, 3, 4, 9, 10, 11, 12, 14, 15, 16, 19, 21, 22, 23, 24, 25, 28, 34, 35, 37, 51, 54, 55, 59, 60, 66, 110, 121, 122,
  149, 150, 151, 157, 163, 164, 182, 183, 184, 196, 212, 232, 233, 235, 236, 273, 298, 316, 317, 318, 350, 360, 361,
  426, 440, 441, 442,
];
/**
 * Added for driver slots and features wire-protocol.md does not list: NODE_GET_INFO,
 * DOMAIN_UNDEFINE_FLAGS, DOMAIN_DESTROY_FLAGS, CONNECT_GET_CAPABILITIES, DOMAIN_REBOOT,
 * DOMAIN_SHUTDOWN, DOMAIN_RESET, DOMAIN_SHUTDOWN_FLAGS, the SASL exchange (67-69),
 * CONNECT_LIST_ALL_STORAGE_POOLS and CONNECT_GET_DOMAIN_CAPABILITIES (virt-install's probes),
 * DOMAIN_MANAGED_SAVE_GET_XML_DESC / _DEFINE_XML, DOMAIN_SET_AUTOSTART and the reboot (319) and
 * job-completed (363) event messages.
 */
const SLOT_EXTRAS = [6, 231, 234, 7, 27, 33, 245, 258, 67, 68, 69, 281, 342, 388, 389, 29, 319, 363];

describe('remote_protocol structures', () => {
  it('maps remote_uuid to the canonical lower-case string', () => {
    const bytes = hex('c7a5fdbdcdaf9455926ad65c16db1809');
    expect(bytesToUuid(bytes)).toBe(DEMO.uuid);
    expect(uuidToBytes(DEMO.uuid)).toEqual(bytes);
    expect(uuidToBytes('C7A5FDBDCDAF9455926AD65C16DB1809')).toEqual(bytes);
    expect(() => uuidToBytes('not-a-uuid')).toThrow(VirError);
    expect(() => uuidToBytes('c7a5fdbd-cdaf-9455-926a-d65c16db180')).toThrow(/not a valid UUID/);
  });

  it('encodes remote_nonnull_domain as name, 16 raw uuid bytes, id', () => {
    const buf = encodeXdr(nonnullDomain, { ...DEMO, id: -1 });
    expect(buf).toEqual(Buffer.concat([str('demo'), hex('c7a5fdbdcdaf9455926ad65c16db1809'), u32(-1)]));
    expect(decodeXdr(nonnullDomain, buf)).toEqual({ ...DEMO, id: -1 });
  });

  it('encodes saveParams({file: "/tmp/x.save"}, BYPASS_CACHE) exactly', () => {
    const proc = REMOTE_PROCEDURES.DOMAIN_SAVE_PARAMS;
    const frame = encodeMessage(
      { prog: REMOTE_PROGRAM, vers: 1, proc: proc.number, type: MessageType.CALL, serial: 5, status: MessageStatus.OK },
      encodeArgs(proc, {
        dom: DEMO,
        params: [{ field: 'file', type: TypedParamType.STRING, value: '/tmp/x.save' }],
        flags: 1,
      }),
    );
    const expected = hex(`
      0000005c 20008086 00000001 000001b8 00000000 00000005 00000000
      00000004 64656d6f c7a5fdbd cdaf9455 926ad65c 16db1809 00000001
      00000001
      00000004 66696c65
      00000007 0000000b 2f746d70 2f782e73 61766500
      00000001`);
    expect(frame).toEqual(expected);
    const msg = decodeMessage(frame);
    expect(msg.header.proc).toBe(440);
    expect(decodeArgs(proc, msg.body)).toEqual({
      dom: DEMO,
      params: [{ field: 'file', type: TypedParamType.STRING, value: '/tmp/x.save' }],
      flags: 1,
    });
  });

  it('maps every typed parameter type without loss', () => {
    const params = [
      { field: 'i', type: TypedParamType.INT, value: -5 },
      { field: 'u', type: TypedParamType.UINT, value: 0xffffffff },
      { field: 'l', type: TypedParamType.LLONG, value: -(2n ** 62n) - 1n },
      { field: 'ul', type: TypedParamType.ULLONG, value: 2n ** 64n - 1n },
      { field: 'd', type: TypedParamType.DOUBLE, value: 0.25 },
      { field: 'b', type: TypedParamType.BOOLEAN, value: true },
      { field: 's', type: TypedParamType.STRING, value: 'x' },
    ];
    for (const p of params) expect(decodeXdr(typedParam, encodeXdr(typedParam, p))).toEqual(p);
    // BOOLEAN travels as an int; 64-bit types accept safe-integer numbers on encode.
    expect(encodeXdr(typedParam, { field: 'b', type: TypedParamType.BOOLEAN, value: false }).subarray(8)).toEqual(hex('00000006 00000000'));
    expect(decodeXdr(typedParam, encodeXdr(typedParam, { field: 'n', type: TypedParamType.ULLONG, value: 7 })).value).toBe(7n);
    expect(() => encodeXdr(typedParam, { field: 'x', type: TypedParamType.INT, value: 'no' })).toThrow(/does not match/);
    expect(() => encodeXdr(typedParam, { field: 'x', type: 99 as TypedParamType, value: 1 })).toThrow(/unknown type 99/);
    expect(() => decodeXdr(typedParam, Buffer.concat([str('x'), u32(8), u32(0)]))).toThrow(/no arm for discriminant 8/);
  });

  it('decodes the lookupByName("nonexistent") error into a VirError and back', () => {
    const detail = "no domain with matching name 'nonexistent'";
    const wire = Buffer.concat([
      u32(42),
      u32(10),
      some(`Domain not found: ${detail}`),
      u32(2),
      none,
      some('Domain not found: %s'),
      some(detail),
      none,
      u32(-1),
      u32(-1),
      none,
    ]);
    const err = decodeXdr(remoteError, wire);
    expect(err).toBeInstanceOf(VirError);
    expect(err.toFields()).toEqual({
      code: ErrorCode.NO_DOMAIN,
      domain: ErrorDomain.QEMU,
      message: `Domain not found: ${detail}`,
      level: ErrorLevel.ERROR,
      str1: 'Domain not found: %s',
      str2: detail,
      str3: null,
      int1: -1,
      int2: -1,
    });
    expect(encodeXdr(remoteError, err)).toEqual(wire);
    // tsvirt's own way of raising the same error produces the same bytes.
    expect(encodeXdr(remoteError, VirError.report(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, detail))).toEqual(wire);
  });

  it('carries optional dom/net and fills a missing message', () => {
    const raw = virErrorToRemoteError(new VirError({ code: 1, domain: 7, message: 'm', str3: 'z', int1: 3, int2: 4 }), DEMO);
    const back = decodeXdr(remoteErrorWire, encodeXdr(remoteErrorWire, raw));
    expect(back.dom).toEqual(DEMO);
    expect(back.net).toBeNull();
    expect(remoteErrorToVirError(back).toFields()).toMatchObject({ code: 1, domain: 7, str3: 'z', int1: 3, int2: 4 });
    expect(remoteErrorToVirError({ ...back, message: null }).message).toBe('No error message provided');
    // A plain Error becomes INTERNAL_ERROR, as libvirt reports unexpected failures.
    expect(virErrorToRemoteError(new Error('boom')).code).toBe(ErrorCode.INTERNAL_ERROR);
  });

  it('describes the reply bodies stock clients expect', () => {
    const info = REMOTE_PROCEDURES.DOMAIN_GET_INFO;
    const body = encodeRet(info, { state: 1, maxMem: 2 ** 40, memory: 1048576, nrVirtCpu: 2, cpuTime: 2n ** 60n });
    expect(body.length).toBe(4 + 8 + 8 + 4 + 8);
    expect(decodeRet(info, body).cpuTime).toBe(2n ** 60n);
    const label = REMOTE_PROCEDURES.DOMAIN_GET_SECURITY_LABEL;
    expect(encodeRet(label, { label: '', enforcing: false })).toEqual(hex('00000001 00000000 00000000'));
    const auth = REMOTE_PROCEDURES.AUTH_LIST;
    expect(encodeRet(auth, { types: [0] })).toEqual(hex('00000001 00000000'));
    const open = REMOTE_PROCEDURES.CONNECT_OPEN;
    expect(encodeArgs(open, { name: 'test:///default', flags: 0 })).toEqual(Buffer.concat([some('test:///default'), u32(0)]));
    const list = REMOTE_PROCEDURES.CONNECT_LIST_ALL_DOMAINS;
    expect(decodeRet(list, encodeRet(list, { domains: [DEMO], ret: 1 }))).toEqual({ domains: [DEMO], ret: 1 });
    const event = REMOTE_PROCEDURES.DOMAIN_EVENT_CALLBACK_LIFECYCLE;
    expect(event.kind).toBe('message');
    expect(decodeArgs(event, encodeArgs(event, { callbackID: 3, msg: { dom: DEMO, event: 5, detail: 1 } })).msg.event).toBe(5);
    expect(() => decodeArgs(REMOTE_PROCEDURES.CONNECT_CLOSE, hex('00000000'))).toThrow(/trailing/);
  });

  it('bounds strings at REMOTE_STRING_MAX', () => {
    expect(REMOTE_STRING_MAX).toBe(4194304);
    const tooLong = Buffer.concat([u32(REMOTE_STRING_MAX + 1), Buffer.alloc(8)]);
    expect(() => decodeArgs(REMOTE_PROCEDURES.DOMAIN_LOOKUP_BY_NAME, tooLong)).toThrow(/exceeds maximum 4194304/);
  });
});

describe('procedure table', () => {
  it('has unique numbers and names that match their keys', () => {
    const numbers = PROCEDURE_TABLE.map((p) => p.number);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    for (const [key, p] of Object.entries(REMOTE_PROCEDURES)) expect(p.name).toBe(key);
  });

  it('contains every procedure wire-protocol.md lists, and nothing else', () => {
    expect(PROCEDURE_TABLE.map((p) => p.number)).toEqual([...LISTED, ...SLOT_EXTRAS].sort((a, b) => a - b));
    for (const n of LISTED) expect(procedureByNumber(n)?.number).toBe(n);
    expect(procedureByNumber(9999)).toBeUndefined();
  });

  it('keeps upstream numbering for the names it uses', () => {
    const expected: Record<string, number> = {
      CONNECT_OPEN: 1,
      DOMAIN_GET_SECURITY_LABEL: 121,
      NODE_GET_SECURITY_MODEL: 122,
      CONNECT_LIST_ALL_DOMAINS: 273,
      DOMAIN_GET_JOB_STATS: 298,
      CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
      DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
      DOMAIN_GET_MESSAGES: 426,
      DOMAIN_SAVE_PARAMS: 440,
      DOMAIN_RESTORE_PARAMS: 441,
      DOMAIN_ABORT_JOB_FLAGS: 442,
    };
    for (const [name, n] of Object.entries(expected)) expect(procedureByName(name)?.number).toBe(n);
    expect(procedureByName('toString')).toBeUndefined();
  });
});
