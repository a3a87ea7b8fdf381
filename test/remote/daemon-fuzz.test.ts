/**
 * Property-based robustness of tsvirtd: random and mutated frames (bad lengths, truncated
 * bodies, huge array counts, unknown procedures) from one client get error replies or that
 * client closed, never a crash or a hang, while a well-behaved client keeps being served.
 */
import fc from 'fast-check';
import { Connect } from '../../src';
import { REMOTE_PROCEDURES as P } from '../../src/remote/protocol/table';
import { encodeArgs } from '../../src/remote/protocol/procedure';
import { MessageStatus, MessageType, REMOTE_PROGRAM, encodeMessage } from '../../src/remote/rpc/message';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';
import { RawClient } from './raw-client';

let d: TestDaemon;
let good: Connect;
beforeAll(async () => {
  d = await startTestDaemon();
  good = await Connect.open(`test+unix:///default?socket=${d.rw}`);
});
afterAll(async () => {
  await good.close();
  await d.stop();
});

const openFrame = encodeMessage(
  { prog: REMOTE_PROGRAM, vers: 1, proc: P.CONNECT_OPEN.number, type: MessageType.CALL, serial: 1, status: 0 },
  encodeArgs(P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }),
);
const seed = [
  encodeMessage(
    { prog: REMOTE_PROGRAM, vers: 1, proc: P.DOMAIN_SAVE_PARAMS.number, type: MessageType.CALL, serial: 2, status: 0 },
    encodeArgs(P.DOMAIN_SAVE_PARAMS, {
      dom: { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 },
      params: [{ field: 'file', type: 7, value: '/nonexistent/dir/x.img' }],
      flags: 0,
    }),
  ),
  encodeMessage(
    { prog: REMOTE_PROGRAM, vers: 1, proc: P.CONNECT_LIST_ALL_DOMAINS.number, type: MessageType.CALL, serial: 3, status: 0 },
    encodeArgs(P.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 0 }),
  ),
];

/** A frame with a correct length word around arbitrary header values and body. */
const framed = fc
  .record({
    prog: fc.oneof(fc.constant(REMOTE_PROGRAM), fc.constant(0x6b656570), fc.integer({ min: 0, max: 0xffffffff })),
    vers: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 0xffffffff })),
    proc: fc.oneof(fc.constantFrom(...Object.values(P).map((p) => p.number)), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    type: fc.oneof(fc.constant(MessageType.CALL), fc.integer({ min: -3, max: 9 })),
    serial: fc.integer({ min: 0, max: 0xffffffff }),
    status: fc.oneof(fc.constant(MessageStatus.OK), fc.integer({ min: -2, max: 5 })),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a.subarray(0, a.length - (a.length % 4)))),
      // A huge array count where an array or string length is expected.
      fc.integer({ min: 0x10000, max: 0xffffffff }).map((n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])),
    ),
  })
  .map((h) => encodeMessage({ prog: h.prog, vers: h.vers, proc: h.proc, type: h.type, serial: h.serial, status: h.status }, h.body));

/** A valid call mutated: flipped bytes, truncation, or a rewritten length word. */
const mutated = fc
  .record({
    base: fc.constantFrom(...seed),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    len: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
  })
  .map(({ base, flips, cut, len }) => {
    const b = Buffer.from(base);
    for (const [at, x] of flips) b[4 + (at % (b.length - 4))] ^= x;
    if (len !== undefined) b.writeUInt32BE(len, 0);
    return cut !== undefined ? b.subarray(0, cut % b.length) : b;
  });

const garbage = fc.uint8Array({ minLength: 1, maxLength: 128 }).map((a) => Buffer.from(a));

describe('daemon fuzz', () => {
  it('answers or closes the offending client, and keeps serving others', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(framed, mutated, garbage), { minLength: 1, maxLength: 4 }), fc.boolean(), async (frames, open) => {
        const c = await RawClient.connect(d.rw);
        if (open) c.write(openFrame);
        for (const f of frames) c.write(f);
        c.sock.end();
        // The daemon must answer what it can and then close (the client half-closed).
        for (;;) {
          const m = await c.next(3000);
          if (!m) break;
          expect([MessageType.REPLY, MessageType.MESSAGE]).toContain(m.header.type);
        }
        expect(c.closed).toBe(true);
        expect(await good.getType()).toBe('TEST');
      }),
      { numRuns: 150 },
    );
    expect(d.daemon.clientCount).toBeLessThanOrEqual(2);
  }, 60000);
});
