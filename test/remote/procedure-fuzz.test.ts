/**
 * Every procedure number 0..500 with random bodies against a real tsvirtd process, on an open
 * read-write connection, on the read-only socket and before CONNECT_OPEN. Every call is answered
 * (an error for unknown numbers and undecodable bodies), the daemon stays up, and afterwards a
 * well-behaved client gets correct answers. Bodies come from a seeded generator so a failure
 * can be replayed; the run is bounded (501 x 3 calls per socket, each client given 20 s).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../src';
import { REMOTE_PROCEDURES as P } from '../../src/remote/protocol/table';
import { MessageStatus, MessageType, REMOTE_PROGRAM, encodeMessage } from '../../src/remote/rpc/message';
import { spawnTsvirtd, type DaemonProcess } from './process-helpers';
import { RawClient } from './raw-client';

const SEED = Number(process.env.TSVIRT_FUZZ_SEED ?? 20261202);
const BODIES_PER_PROC = 3;

let dir: string;
let daemon: DaemonProcess;
let rw: string;
let ro: string;

/** A small deterministic PRNG (xorshift32), so a failing seed replays exactly. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Random bodies: raw bytes, plausible XDR (small counts, short strings) and empty ones. */
function randomBody(next: () => number): Buffer {
  const kind = next() % 3;
  if (kind === 0) return Buffer.alloc(0);
  const words = 1 + (next() % 24);
  const b = Buffer.alloc(words * 4);
  for (let i = 0; i < words; i++) {
    // Small numbers read as plausible lengths, counts, flags and enum values.
    b.writeUInt32BE(kind === 1 ? next() % 8 : next(), i * 4);
  }
  return b;
}

function frame(proc: number, serial: number, body: Buffer): Buffer {
  return encodeMessage({ prog: REMOTE_PROGRAM, vers: 1, proc, type: MessageType.CALL, serial, status: MessageStatus.OK }, body);
}

/**
 * Sends every procedure number with random bodies on fresh connections to `sock` (after
 * CONNECT_OPEN when `open`), and returns how many calls were answered and how many went
 * unanswered because the daemon closed that client (it may, e.g. after CONNECT_CLOSE twice).
 */
async function fuzzSocket(sock: string, open: boolean, next: () => number): Promise<{ answered: number; lost: number }> {
  let answered = 0;
  let lost = 0;
  let serial = 100;
  const connect = async (): Promise<RawClient> => {
    const c = await RawClient.connect(sock);
    if (open) {
      c.call(P.CONNECT_OPEN, { name: 'test:///default', flags: 0 }, 1);
      const m = await c.next(5000);
      expect(m?.header.status).toBe(MessageStatus.OK);
    }
    return c;
  };
  let c = await connect();
  for (let proc = 0; proc <= 500; proc++) {
    const sent = new Set<number>();
    for (let k = 0; k < BODIES_PER_PROC; k++) {
      const s = serial++;
      sent.add(s);
      c.write(frame(proc, s, randomBody(next)));
    }
    const end = Date.now() + 20000;
    while (sent.size > 0 && Date.now() < end) {
      const m = await c.next(Math.max(1, end - Date.now()));
      if (!m) break;
      if (m.header.type !== MessageType.REPLY) continue;
      expect(sent.delete(m.header.serial)).toBe(true);
      answered++;
    }
    if (sent.size > 0) {
      lost += sent.size;
      c.close();
      c = await connect();
    }
  }
  c.close();
  return { answered, lost };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-procfuzz-'));
  daemon = await spawnTsvirtd(['--socket-dir', path.join(dir, 'sock')]);
  rw = path.join(dir, 'sock', 'libvirt-sock');
  ro = path.join(dir, 'sock', 'libvirt-sock-ro');
}, 30000);

afterAll(async () => {
  daemon?.child.kill('SIGTERM');
  await daemon?.exited;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('every procedure number with random bodies', () => {
  it('is answered on every socket, and the daemon then serves a good client correctly', async () => {
    const next = prng(SEED);
    const total = 501 * BODIES_PER_PROC;
    for (const [sock, open] of [
      [rw, true],
      [ro, true],
      [rw, false],
    ] as const) {
      const r = await fuzzSocket(sock, open, next);
      if (process.env.TSVIRT_FUZZ_VERBOSE) process.stderr.write(`fuzz ${sock} open=${open}: ${JSON.stringify(r)}\n`);
      // Calls are answered, bar the few a client loses when its own connection is closed.
      expect(r.answered + r.lost).toBe(total);
      expect(r.lost).toBeLessThan(total / 50);
      expect(daemon.child.exitCode).toBeNull();
    }
    const c = await Connect.open(`test+unix:///default?socket=${rw}`);
    try {
      const dom = await c.lookupDomainByName('test');
      expect(await dom.getState()).toEqual({ state: 1, reason: 0 });
      expect((await c.listAllDomains()).map((d) => d.name)).toEqual(['test']);
      expect(await c.getCapabilities()).toContain('<capabilities>');
    } finally {
      await c.close();
    }
    expect(daemon.stderr()).not.toContain('unhandled rejection');
    expect(daemon.stderr()).not.toContain('uncaught exception');
    // Nothing was written beside the sockets.
    expect(fs.readdirSync(dir)).toEqual(['sock']);
  }, 240000);
});
