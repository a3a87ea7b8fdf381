import fc from 'fast-check';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';
import { xdr } from '../../src/remote/xdr';
import {
  FrameSplitter,
  KEEPALIVE_PROGRAM,
  KeepaliveProcedure,
  MESSAGE_MAX,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  checkFrameLength,
  decodeMessage,
  encodeKeepalive,
  encodeMessage,
  isKnownMessageType,
  type MessageHeader,
} from '../../src/remote/rpc/message';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function header(proc: number, serial: number): MessageHeader {
  return { prog: REMOTE_PROGRAM, vers: 1, proc, type: MessageType.CALL, serial, status: MessageStatus.OK };
}

function expectRpc(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(VirError);
  expect((caught as VirError).code).toBe(ErrorCode.RPC);
  expect((caught as VirError).domain).toBe(ErrorDomain.RPC);
  expect((caught as VirError).message).toMatch(pattern);
}

describe('RPC message framing', () => {
  it('uses libvirt program numbers and enum values', () => {
    expect(REMOTE_PROGRAM).toBe(0x20008086);
    expect(Buffer.from('keep').readUInt32BE(0)).toBe(KEEPALIVE_PROGRAM);
    expect([MessageType.CALL, MessageType.REPLY, MessageType.MESSAGE, MessageType.STREAM]).toEqual([0, 1, 2, 3]);
    expect([MessageType.CALL_WITH_FDS, MessageType.REPLY_WITH_FDS, MessageType.STREAM_HOLE]).toEqual([4, 5, 6]);
    expect([MessageStatus.OK, MessageStatus.ERROR, MessageStatus.CONTINUE]).toEqual([0, 1, 2]);
    expect(isKnownMessageType(6)).toBe(true);
    expect(isKnownMessageType(7)).toBe(false);
  });

  it('encodes a header-only call as 28 bytes and decodes it back', () => {
    const frame = encodeMessage(header(66, 1));
    expect(frame).toEqual(hex('0000001c 20008086 00000001 00000042 00000000 00000001 00000000'));
    const msg = decodeMessage(frame);
    expect(msg.header).toEqual(header(66, 1));
    expect(msg.body.length).toBe(0);
  });

  it('encodes a keepalive PING as MESSAGE with serial 0', () => {
    expect(encodeKeepalive(KeepaliveProcedure.PING)).toEqual(
      hex('0000001c 6b656570 00000001 00000001 00000002 00000000 00000000'),
    );
    expect(decodeMessage(encodeKeepalive(KeepaliveProcedure.PONG)).header.proc).toBe(2);
  });

  it('encodes a typed body or raw body after the header', () => {
    const typed = encodeMessage(header(60, 7), { type: xdr.struct({ feature: xdr.int }), value: { feature: 10 } });
    expect(typed.readUInt32BE(0)).toBe(32);
    expect(typed.subarray(28)).toEqual(hex('0000000a'));
    expect(encodeMessage(header(60, 7), hex('0000000a'))).toEqual(typed);
    expect(decodeMessage(typed).body).toEqual(hex('0000000a'));
  });

  it('rejects bad lengths', () => {
    expectRpc(() => checkFrameLength(27), /too small/);
    expectRpc(() => checkFrameLength(MESSAGE_MAX + 1), /too large/);
    expect(() => checkFrameLength(MESSAGE_MAX)).not.toThrow();
    const frame = encodeMessage(header(1, 1));
    expectRpc(() => decodeMessage(Buffer.concat([frame, hex('00000000')])), /does not match/);
    expectRpc(() => decodeMessage(frame.subarray(0, 20)), /does not match/);
    expectRpc(() => decodeMessage(frame.subarray(0, 3)), /truncated/);
    expectRpc(() => encodeMessage(header(1, 1), Buffer.alloc(MESSAGE_MAX)), /exceeds maximum/);
  });
});

describe('FrameSplitter', () => {
  it('rejects an oversized length from the length word alone', () => {
    const s = new FrameSplitter();
    expectRpc(() => s.push(hex('02000001')), /too large/);
    expect(s.pendingBytes).toBe(0);
    // The stream is now out of sync: every later push fails the same way.
    expectRpc(() => s.push(encodeMessage(header(1, 1))), /too large/);
  });

  it('rejects an oversized length split across chunks, and a too-small one', () => {
    const s = new FrameSplitter();
    expect(s.push(hex('ff'))).toEqual([]);
    expect(s.push(hex('ff'))).toEqual([]);
    expectRpc(() => s.push(hex('ffff')), /too large/);
    expectRpc(() => new FrameSplitter().push(hex('0000001b 00000000')), /too small/);
    expectRpc(() => new FrameSplitter(1024).push(hex('00000401')), /maximum 1024/);
  });

  it('returns several frames from one chunk and keeps the remainder', () => {
    const a = encodeMessage(header(3, 1));
    const b = encodeMessage(header(4, 2), hex('00000001 00000002'));
    const c = encodeMessage(header(5, 3));
    const s = new FrameSplitter();
    const out = s.push(Buffer.concat([a, b, c.subarray(0, 10)]));
    expect(out).toEqual([a, b]);
    expect(s.pendingBytes).toBe(10);
    expect(s.push(c.subarray(10))).toEqual([c]);
    expect(s.pendingBytes).toBe(0);
  });

  it('reassembles any chunking of a stream of frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(600), fc.nat(0xffffffff)), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (specs, cuts) => {
          const frames = specs.map(([words, serial], i) =>
            encodeMessage(header(i, serial), Buffer.alloc(words * 4, i + 1)),
          );
          const stream = Buffer.concat(frames);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
          const s = new FrameSplitter();
          const got: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            got.push(...s.push(stream.subarray(prev, p)));
            prev = p;
          }
          // Buffer.equals: Jest's deep equality walks buffers byte by byte and is slow.
          expect(got.length).toBe(frames.length);
          got.forEach((f, i) => expect(f.equals(frames[i])).toBe(true));
          expect(got.map((f) => decodeMessage(f).header.serial)).toEqual(specs.map(([, serial]) => serial));
          expect(s.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles a large frame delivered in small chunks', () => {
    const frame = encodeMessage(header(55, 9), Buffer.alloc(1 << 20, 7));
    const s = new FrameSplitter();
    const got: Buffer[] = [];
    for (let off = 0; off < frame.length; off += 65536) got.push(...s.push(frame.subarray(off, off + 65536)));
    expect(got).toHaveLength(1);
    expect(got[0].equals(frame)).toBe(true);
  });
});
