/**
 * `console DOMAIN [--devname NAME] [--force] [--safe]`: virsh's interactive serial console. The
 * terminal goes raw, keys go to the guest, guest output to the terminal, until the escape key
 * (Ctrl + ], byte 0x1d) or the guest's QEMU ends the stream.
 */
import type { Duplex } from 'node:stream';
import { ReportedError } from '../errors';
import { optString, optBool, type CommandDef } from '../types';
import { DOMAIN_OPT } from './common';

/** VIR_DOMAIN_CONSOLE_FORCE and VIR_DOMAIN_CONSOLE_SAFE. */
const FORCE = 1 << 0;
const SAFE = 1 << 1;
/** The byte of an escape sequence as -e gives it: `^]` is 0x1d, `^a` 0x01, a plain character itself. */
export function escapeByte(seq: string): number {
  return seq.length === 2 && seq[0] === '^' ? seq.toUpperCase().charCodeAt(1) & 0x1f : seq.charCodeAt(0);
}

/**
 * Pumps stdin to the console and the console to stdout until the escape byte or the console's
 * end (the guest's pty closing reads EIO: an end, not a failure). Rejects when the stream fails,
 * as when a forced open elsewhere took the console over.
 */
function runSession(stream: Duplex, stdin: NodeJS.ReadStream, stdout: NodeJS.WritableStream, escape: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (err?: Error): void => {
      stdin.off('data', onKeys);
      stream.off('data', onGuest);
      stream.off('close', onClose);
      stream.off('end', onClose);
      stream.off('error', onError);
      stream.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onClose = (): void => finish();
    const onError = (err: NodeJS.ErrnoException): void => finish(err.code === 'EIO' ? undefined : err);
    const onKeys = (chunk: Buffer): void => {
      const at = chunk.indexOf(escape);
      if (at >= 0) {
        if (at > 0) stream.write(chunk.subarray(0, at));
        finish();
        return;
      }
      stream.write(chunk);
    };
    const onGuest = (chunk: Buffer): void => {
      stdout.write(chunk);
    };
    stdin.on('data', onKeys);
    stream.on('data', onGuest);
    stream.once('end', onClose);
    stream.once('close', onClose);
    stream.on('error', onError);
  });
}

const consoleCmd: CommandDef = {
  name: 'console',
  group: 'domain',
  help: 'connect to the guest console',
  desc: 'Connect the virtual serial console for the guest',
  opts: [
    DOMAIN_OPT,
    { name: 'devname', type: 'string', help: 'character device name' },
    { name: 'force', type: 'bool', help: 'force console connection (disconnect already connected sessions)' },
    { name: 'safe', type: 'bool', help: 'only connect if safe console handling is supported' },
  ],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const stdin = process.stdin;
    // Raw keys need a terminal; virsh refuses the same way.
    if (!stdin.isTTY) {
      ctx.error('Cannot run interactive console without a controlling TTY');
      throw new ReportedError();
    }
    const flags = (optBool(cmd, 'force') ? FORCE : 0) | (optBool(cmd, 'safe') ? SAFE : 0);
    const esc = ctx.escapeSequence;
    ctx.printExtra(`Connected to domain '${dom.name}'\nEscape character is ${esc}${esc[0] === '^' ? ` (Ctrl + ${esc[1]})` : ''}\n`);
    // virsh reports a refused console with the error alone, no "Failed to" line.
    const stream = await dom.openConsole(optString(cmd, 'devname') ?? null, flags);
    const wasRaw = stdin.isRaw;
    let failed = false;
    stdin.setRawMode(true);
    stdin.resume();
    try {
      await runSession(stream, stdin, process.stdout, escapeByte(esc)).catch(() => {
        failed = true;
      });
    } finally {
      stdin.setRawMode(wasRaw);
      stdin.pause();
    }
    if (failed) {
      ctx.error('stream had I/O failure');
      throw new ReportedError();
    }
    // The guest's last line may lack a newline; virsh ends the session on a fresh line.
    ctx.print('\n');
  },
};

/** console. */
export const consoleCommands: readonly CommandDef[] = [consoleCmd];
