/**
 * The test guest's serial console as the host sees it: a `<serial type='file'>` log read as one
 * continuous stream across save and restore, and the workload's lines (scripts/guest/init)
 * parsed into events.
 */
import fs from 'node:fs';

/** One parsed "TSVIRT-GUEST ..." line. */
export type GuestEvent =
  | { kind: 'ready'; boot: string; bufBytes: number; buf: string; disk: string; diskSectors: number; net: string }
  | { kind: 'tick'; tick: number; boot: string; disk: string; buf?: string }
  | { kind: 'insmod-failed'; module: string };

const READY = /^TSVIRT-GUEST READY boot=([0-9a-f]+) buf_bytes=(\d+) buf=([0-9a-f]{64}) disk=(\S+) disk_sectors=(\d+) net=(\S+)$/;
const TICK = /^TSVIRT-GUEST tick=(\d+) boot=([0-9a-f]+) disk=(\w+)(?: buf=([0-9a-f]{64}))?$/;
const INSMOD = /^TSVIRT-GUEST insmod-failed (\S+)$/;

/** Parses one console line; null for anything else (kernel messages, partial lines). */
export function parseGuestLine(line: string): GuestEvent | null {
  const text = line.replace(/\r$/, '');
  let m = READY.exec(text);
  if (m) return { kind: 'ready', boot: m[1], bufBytes: Number(m[2]), buf: m[3], disk: m[4], diskSectors: Number(m[5]), net: m[6] };
  m = TICK.exec(text);
  if (m) return { kind: 'tick', tick: Number(m[1]), boot: m[2], disk: m[3], ...(m[4] ? { buf: m[4] } : {}) };
  m = INSMOD.exec(text);
  if (m) return { kind: 'insmod-failed', module: m[1] };
  return null;
}

/**
 * Follows a console log file. QEMU's file chardev truncates its file when a restored guest's
 * QEMU opens it, so {@link reopen} is called after each restore: it goes on from offset 0 when
 * the file was replaced (and from where it was when it was appended to), and keeps the partial
 * line the old QEMU left, whose rest the restored guest prints. The result is the guest's
 * output as one stream, which is what "the console continues where it was" is checked on.
 */
export class GuestConsole {
  /** Every complete line so far, in order. */
  readonly lines: string[] = [];
  private offset = 0;
  private partial = '';
  private head = Buffer.alloc(0);

  constructor(readonly path: string) {}

  /** Reads what was appended since the last call; returns the new complete lines. */
  poll(): string[] {
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const fresh: string[] = [];
    try {
      const size = fs.fstatSync(fd).size;
      if (this.head.length < 64 && size > this.head.length) {
        const n = Math.min(64, size);
        this.head = Buffer.alloc(n);
        fs.readSync(fd, this.head, 0, n, 0);
      }
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const got = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += got;
      const parts = (this.partial + buf.subarray(0, got).toString('latin1')).split('\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) {
        const line = p.replace(/\r$/, '');
        this.lines.push(line);
        fresh.push(line);
      }
    } finally {
      fs.closeSync(fd);
    }
    return fresh;
  }

  /** After a restore: decides whether the file was truncated and rewritten or appended to. */
  reopen(): void {
    let same = false;
    try {
      const fd = fs.openSync(this.path, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const now = Buffer.alloc(Math.min(this.head.length, size));
        fs.readSync(fd, now, 0, now.length, 0);
        same = size >= this.offset && now.length === this.head.length && now.equals(this.head);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!same) {
      this.offset = 0;
      this.head = Buffer.alloc(0);
    }
  }

  /** Every parsed workload event so far. */
  events(): GuestEvent[] {
    return this.lines.map(parseGuestLine).filter((e): e is GuestEvent => e !== null);
  }

  /** Tick events so far. */
  ticks(): Extract<GuestEvent, { kind: 'tick' }>[] {
    return this.events().filter((e): e is Extract<GuestEvent, { kind: 'tick' }> => e.kind === 'tick');
  }

  /** The last tick printed, 0 before the first. */
  lastTick(): number {
    const t = this.ticks();
    return t.length ? t[t.length - 1].tick : 0;
  }

  /**
   * Polls every 100 ms until `done(events)` holds; rejects after `timeoutMs` with the last
   * console lines, so a guest that panicked or hung says why.
   */
  async waitFor(what: string, done: (events: GuestEvent[]) => boolean, timeoutMs: number): Promise<GuestEvent[]> {
    const t0 = Date.now();
    for (;;) {
      this.poll();
      const ev = this.events();
      if (done(ev)) return ev;
      if (Date.now() - t0 > timeoutMs) {
        const tail = [...this.lines.slice(-15), this.partial].join('\n');
        throw new Error(`guest console: no ${what} within ${timeoutMs} ms; last output:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
