/**
 * A real Linux guest (Debian's kernel + busybox initramfs from scripts/build-guest.sh, booted
 * with <kernel>/<initrd>, virtio disk, user-mode NIC, file serial console) saved and restored in
 * every layout: single stream, parallel `files`, parallel `region` and instant restore. One boot
 * for the whole file; each layout checks that the guest came back where it stopped: its tick
 * counter goes on from the last tick before the save (no reboot: same boot id, no second READY),
 * the checksum of its in-RAM buffer is unchanged, and every disk record it reported as flushed
 * is in the image file. The guest's second serial port is a pty: Domain.openConsole reads the
 * workload's lines from it and what is typed into it comes back, before and after a restore.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Connect, DomainState, ErrorCode, RunningReason, ShutoffReason, type DomainRestoreParams, type DomainSaveParams } from '../../src';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { virErrorOf } from '../helpers/vir-error-of';
import { bootLinuxGuest, ensureLinuxGuest, missingDiskRecords, removeLinuxGuest, waitForTicks, type LinuxGuest } from '../helpers/linux-guest';

const env = setupQemuEnv('linux-guest');
let conn: Connect;
let guest: LinuxGuest;

beforeAll(async () => {
  const files = ensureLinuxGuest();
  conn = await Connect.open('qemu:///session');
  guest = await bootLinuxGuest(conn, {
    name: `lg-${process.pid}`,
    files,
    dir: env.workDir,
    mib: 128,
    // memfd-shared RAM: the region layout and instant restore need it; the others accept it.
    sharedMemory: true,
    ptySerial: true,
  });
}, 120000);

afterAll(async () => {
  if (guest) await removeLinuxGuest(guest);
  await conn?.close();
  teardownQemuEnv(env);
});

describe('the Linux test guest', () => {
  it('boots with its disk, NIC and memory buffer, and ticks', async () => {
    expect(guest.ready.disk).toBe('/dev/vda');
    expect(guest.ready.diskSectors).toBe(4 * 2048);
    // QEMU's user-mode network hands out 10.0.2.15 by DHCP.
    expect(guest.ready.net).toBe('10.0.2.15/24');
    expect(guest.ready.bufBytes).toBe(4 * 1024 * 1024);
    expect(guest.console.events().filter((e) => e.kind === 'insmod-failed')).toEqual([]);
    const last = await waitForTicks(guest, 2);
    expect(missingDiskRecords(guest, 1, last)).toEqual([]);
  }, 60000);
});

/** Reads `stream` until `pattern` matches what arrived; rejects after `timeoutMs`. */
function readUntil(stream: Duplex, pattern: RegExp, timeoutMs = 20000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) done();
    };
    const timer = setTimeout(() => done(new Error(`console: no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(text.slice(-300))}`)), timeoutMs);
    stream.on('data', onData);
  });
}

/** Opens serial1, checks it carries the workload's ticks and echoes a typed line; closes it. */
async function consoleRoundTrip(word: string): Promise<void> {
  const stream = await guest.dom.openConsole('serial1');
  try {
    await readUntil(stream, new RegExp(`TSVIRT-GUEST tick=\\d+ boot=${guest.ready.boot}`));
    const echoed = readUntil(stream, new RegExp(`TSVIRT-GUEST echo ${word}\\n`));
    stream.write(`${word}\n`);
    await echoed;
  } finally {
    stream.destroy();
  }
}

describe('Domain.openConsole on the pty serial', () => {
  it('reads the workload and what is typed comes back', async () => {
    await consoleRoundTrip(`hello-${process.pid}`);
  }, 60000);

  it('allows one session unless FORCE, and refuses a non-pty or unknown device', async () => {
    const first = await guest.dom.openConsole('serial1');
    const second = await virErrorOf(guest.dom.openConsole('serial1'));
    expect([second.code, second.message]).toEqual([ErrorCode.OPERATION_FAILED, 'operation failed: Active console session exists for this domain']);
    const forced = await guest.dom.openConsole('serial1', 1 /* VIR_DOMAIN_CONSOLE_FORCE */);
    expect(first.destroyed).toBe(true);
    await readUntil(forced, /TSVIRT-GUEST tick=\d+/);
    forced.destroy();
    const file = await virErrorOf(guest.dom.openConsole('serial0'));
    expect([file.code, file.message]).toEqual([ErrorCode.INTERNAL_ERROR, 'internal error: character device serial0 is not using a PTY']);
    const unknown = await virErrorOf(guest.dom.openConsole('parallel0'));
    expect([unknown.code, unknown.message]).toEqual([ErrorCode.INTERNAL_ERROR, 'internal error: cannot find character device parallel0']);
    const flags = await virErrorOf(guest.dom.openConsole('serial1', 4));
    expect(flags.code).toBe(ErrorCode.INVALID_ARG);
  }, 60000);
});

interface Mode {
  label: string;
  save: DomainSaveParams;
  restore: Omit<DomainRestoreParams, 'file'>;
  pieces: (file: string) => string[];
}

const MODES: Mode[] = [
  { label: 'single stream', save: {}, restore: {}, pieces: (f) => [f] },
  {
    label: 'parallel files (FILE + FILE.1..4)',
    save: { 'parallel.channels': 4, 'parallel.mode': 'files' },
    restore: {},
    pieces: (f) => [f, `${f}.1`, `${f}.2`, `${f}.3`, `${f}.4`],
  },
  { label: 'parallel region', save: { 'parallel.channels': 4, 'parallel.mode': 'region' }, restore: {}, pieces: (f) => [f] },
  // Last: an instant-restored guest's RAM maps the image, which a region save cannot copy from.
  {
    label: 'instant restore of a region image',
    save: { 'parallel.channels': 4, 'parallel.mode': 'region' },
    restore: { 'parallel.instant': true },
    pieces: (f) => [f],
  },
];

describe('save and restore bring the guest back where it stopped', () => {
  it.each(MODES)('$label', async (mode) => {
    const { dom, console } = guest;
    await waitForTicks(guest, 2);
    const file = path.join(env.workDir, `${mode.label.replace(/\W+/g, '-')}.save`);
    await dom.saveParametersFlags({ file, ...mode.save }, 0);
    expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
    for (const piece of mode.pieces(file)) expect(fs.statSync(piece).size).toBeGreaterThan(0);

    // QEMU is gone: the console file holds everything the guest printed before the save.
    console.poll();
    const linesBefore = console.lines.length;
    const lastBefore = console.lastTick();
    expect(lastBefore).toBeGreaterThan(0);
    // Nothing the guest reported as flushed was lost, and the guest is not running any more.
    expect(missingDiskRecords(guest, 1, lastBefore)).toEqual([]);

    await conn.restoreParams({ file, ...mode.restore });
    expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    console.reopen();
    // A tick after the first one and a checksum line: the guest goes on, and its buffer with it.
    const lastAfter = await waitForTicks(guest, 5);
    const after = console.lines.slice(linesBefore);
    expect(after.some((l) => l.includes('READY'))).toBe(false);
    const ticksAfter = console.ticks().filter((t) => t.tick > lastBefore);
    expect(ticksAfter[0].tick).toBe(lastBefore + 1);
    expect(ticksAfter.map((t) => t.tick)).toEqual(Array.from({ length: ticksAfter.length }, (_, i) => lastBefore + 1 + i));
    expect(new Set(ticksAfter.map((t) => t.boot))).toEqual(new Set([guest.ready.boot]));
    const sums = ticksAfter.filter((t) => t.buf !== undefined).map((t) => t.buf);
    expect(sums.length).toBeGreaterThan(0);
    expect(new Set(sums)).toEqual(new Set([guest.ready.buf]));
    expect(ticksAfter.every((t) => t.disk === 'ok')).toBe(true);
    expect(missingDiskRecords(guest, 1, lastAfter)).toEqual([]);
    // The restored QEMU has a new pty; the console works there too.
    await consoleRoundTrip(`after-${mode.label.replace(/\W+/g, '-')}`);
  }, 120000);
});
