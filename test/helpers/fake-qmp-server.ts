/**
 * A scripted stand-in for QEMU's QMP monitor on a UNIX socket in a temp dir. It greets like QEMU,
 * enforces capabilities negotiation, answers commands from a script, and lets a test misbehave on
 * purpose: stay silent, reply out of order, emit events, send garbage or split lines, hang up.
 */
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Leave the command unanswered (timeout tests, or a later manual {@link FakeQmpServer.reply}). */
export const SILENT = Symbol('silent');

/** A reply body without the id: `{return: ...}` or `{error: {class, desc}}` (or anything, for abuse). */
export type FakeReplyBody = Record<string, unknown>;

/** One command the server received, as parsed from the wire. */
export interface ReceivedCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
  raw: string;
}

/** What the script holds per command: a fixed body, SILENT, or a function computing either. */
export type FakeHandler =
  | FakeReplyBody
  | typeof SILENT
  | ((cmd: ReceivedCommand, server: FakeQmpServer) => FakeReplyBody | typeof SILENT | Promise<FakeReplyBody | typeof SILENT>);

/** Options of {@link FakeQmpServer.start}. */
export interface FakeQmpServerOptions {
  /** Per-command handlers; they override the defaults (qmp_capabilities, query-version, ...). */
  script?: Record<string, FakeHandler>;
  /** Version announced in the greeting and by query-version. */
  version?: { major: number; minor: number; micro: number };
  /** Raw greeting line instead of the normal one; null sends no greeting at all. */
  greeting?: string | null;
  /** Migration capabilities listed by query-migrate-capabilities. */
  migrationCapabilities?: string[];
}

/** The scripted server. Start it with {@link FakeQmpServer.start}; always {@link FakeQmpServer.stop} it. */
export class FakeQmpServer {
  /** Every command received, in order, qmp_capabilities included. */
  readonly received: ReceivedCommand[] = [];
  private readonly script = new Map<string, FakeHandler>();
  private readonly sockets = new Set<net.Socket>();
  private current: net.Socket | null = null;
  private negotiated = false;
  private commandWaiters: Array<{ name: string; resolve: (c: ReceivedCommand) => void }> = [];
  private connectionWaiters: Array<() => void> = [];

  private constructor(
    private readonly server: net.Server,
    readonly dir: string,
    readonly socketPath: string,
    private readonly options: FakeQmpServerOptions,
  ) {
    this.installDefaults();
    for (const [name, handler] of Object.entries(options.script ?? {})) this.script.set(name, handler);
    server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Starts listening on `<fresh temp dir>/qmp.sock` (or creates the dir only, with `listen: false`). */
  static async start(options: FakeQmpServerOptions = {}, listen = true): Promise<FakeQmpServer> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsvirt-qmp-'));
    const socketPath = path.join(dir, 'qmp.sock');
    const fake = new FakeQmpServer(net.createServer(), dir, socketPath, options);
    if (listen) await fake.listen();
    return fake;
  }

  /** Starts listening (for tests that connect before the "QEMU" is up). */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  /** Replaces the handler of one command. */
  setHandler(command: string, handler: FakeHandler): void {
    this.script.set(command, handler);
  }

  /** Sends a reply for `id` now (used with SILENT handlers to reorder replies). */
  reply(id: unknown, body: FakeReplyBody): void {
    this.sendLine(JSON.stringify({ ...body, id }));
  }

  /** Emits a QMP event with a QEMU-like timestamp. */
  emitEvent(event: string, data?: Record<string, unknown>): void {
    const now = Date.now();
    const msg: Record<string, unknown> = { event };
    if (data !== undefined) msg.data = data;
    msg.timestamp = { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
    this.sendLine(JSON.stringify(msg));
  }

  /** Writes raw text exactly as given (garbage, half lines, several lines at once). */
  sendRaw(text: string | Buffer): void {
    this.requireSocket().write(text);
  }

  /** Writes `data` in `pieces` separate writes spaced by `delayMs`, so they arrive as separate chunks. */
  async sendInPieces(data: string | Buffer, pieces: number, delayMs = 5): Promise<void> {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    const size = Math.ceil(buf.length / pieces);
    for (let off = 0; off < buf.length; off += size) {
      this.requireSocket().write(buf.subarray(off, off + size));
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }

  /** Closes the connection from the "QEMU" side, as QEMU does on quit or crash. */
  dropConnection(): void {
    this.current?.end();
    this.current?.destroy();
  }

  /**
   * Stops reading, waits `delayMs` for the client to write something, then closes: Linux reports
   * ECONNRESET to the peer of a UNIX socket closed with unread data, like a crashing QEMU.
   */
  async resetConnection(delayMs = 20): Promise<void> {
    const socket = this.requireSocket();
    socket.pause();
    await new Promise((r) => setTimeout(r, delayMs));
    socket.destroy();
  }

  /** Resolves when the next command called `name` arrives (register before triggering it). */
  waitForCommand(name: string): Promise<ReceivedCommand> {
    return new Promise((resolve) => this.commandWaiters.push({ name, resolve }));
  }

  /** Resolves when the next client connects. */
  waitForConnection(): Promise<void> {
    return new Promise((resolve) => this.connectionWaiters.push(resolve));
  }

  /** Number of connections accepted so far. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Closes the server and every connection, then removes the temp dir. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    this.current = socket;
    this.negotiated = false;
    socket.on('error', () => undefined);
    const splitter = new JsonObjectSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const text of splitter.push(chunk.toString('utf8'))) void this.onCommand(text);
    });
    const greeting = this.options.greeting === undefined ? this.defaultGreeting() : this.options.greeting;
    if (greeting !== null) this.sendLine(greeting);
    for (const w of this.connectionWaiters.splice(0)) w();
  }

  private async onCommand(raw: string): Promise<void> {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      this.sendLine(JSON.stringify({ error: { class: 'GenericError', desc: 'JSON parse error' } }));
      return;
    }
    const cmd: ReceivedCommand = {
      execute: String(parsed.execute),
      arguments: parsed.arguments as Record<string, unknown> | undefined,
      id: parsed.id,
      raw,
    };
    this.received.push(cmd);
    const waiters = this.commandWaiters.filter((w) => w.name === cmd.execute);
    this.commandWaiters = this.commandWaiters.filter((w) => w.name !== cmd.execute);
    for (const w of waiters) w.resolve(cmd);

    let body: FakeReplyBody | typeof SILENT;
    if (!this.negotiated && cmd.execute !== 'qmp_capabilities') {
      body = notFound("Expecting capabilities negotiation with 'qmp_capabilities'");
    } else {
      const handler = this.script.get(cmd.execute);
      if (handler === undefined) body = notFound(`The command ${cmd.execute} has not been found`);
      else body = typeof handler === 'function' ? await handler(cmd, this) : handler;
    }
    if (cmd.execute === 'qmp_capabilities') this.negotiated = true;
    if (body === SILENT) return;
    const reply: Record<string, unknown> = { ...body };
    if (cmd.id !== undefined) reply.id = cmd.id;
    this.sendLine(JSON.stringify(reply));
  }

  private installDefaults(): void {
    const v = this.version();
    this.script.set('qmp_capabilities', { return: {} });
    this.script.set('query-version', { return: { qemu: { ...v }, package: 'fake-qmp' } });
    this.script.set('query-status', { return: { status: 'paused', singlestep: false, running: false } });
    this.script.set('query-migrate-capabilities', () => ({
      return: (this.options.migrationCapabilities ?? ['xbzrle', 'multifd', 'x-ignore-shared']).map((capability) => ({
        capability,
        state: false,
      })),
    }));
    this.script.set('query-commands', () => ({ return: [...this.script.keys()].map((name) => ({ name })) }));
  }

  private version(): { major: number; minor: number; micro: number } {
    return this.options.version ?? { major: 7, minor: 2, micro: 22 };
  }

  private defaultGreeting(): string {
    return JSON.stringify({ QMP: { version: { qemu: this.version(), package: 'fake-qmp' }, capabilities: ['oob'] } });
  }

  private sendLine(line: string): void {
    this.requireSocket().write(`${line}\r\n`);
  }

  private requireSocket(): net.Socket {
    if (!this.current || this.current.destroyed) throw new Error('fake QMP server: no client connected');
    return this.current;
  }
}

function notFound(desc: string): FakeReplyBody {
  return { error: { class: 'CommandNotFound', desc } };
}

/**
 * Splits a client's byte stream into top-level JSON texts the way QEMU's json-streamer does:
 * by balanced braces/brackets outside strings, so commands need no line terminator.
 */
class JsonObjectSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  push(text: string): string[] {
    const out: string[] = [];
    const base = this.buf.length;
    this.buf += text;
    for (let i = base; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') {
        this.inString = true;
      } else if (c === '{' || c === '[') {
        if (this.depth++ === 0) this.start = i;
      } else if ((c === '}' || c === ']') && this.depth > 0 && --this.depth === 0) {
        out.push(this.buf.slice(this.start, i + 1));
        this.buf = this.buf.slice(i + 1);
        i = -1;
        this.start = -1;
      }
    }
    if (this.depth === 0) this.buf = '';
    return out;
  }
}
