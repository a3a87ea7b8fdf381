/**
 * One client of the daemon: cuts its byte stream into frames, dispatches calls through the
 * handler table on the client's own public Connect, answers out of order as calls finish, runs
 * keepalive, enforces the per-client request limit, and confines every fault to this client:
 * a bad call gets an error reply, an unframeable stream closes this client only.
 */
import type { Duplex } from 'node:stream';
import type { DomainEventId, DomainRef } from '../drivers/types';
import { Connect } from '../public/connect';
import { ConnectFlags } from '../public/flags';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { moduleLogger } from '../util/logger';
import { parseUri } from '../util/uri';
import { VirError } from '../util/vir-error';
import { encodeArgs, encodeRet, decodeArgs, type ProcedureDef } from '../remote/protocol/procedure';
import { EVENT_MESSAGE_CODECS, type WireDomainEvent } from '../remote/protocol/procedures-events';
import { procedureByNumber } from '../remote/protocol/table';
import { remoteErrorWire, virErrorToRemoteError } from '../remote/protocol/types';
import { KeepaliveMonitor, type KeepaliveOptions } from '../remote/rpc/keepalive';
import {
  FrameSplitter,
  KEEPALIVE_PROGRAM,
  KeepaliveProcedure,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  decodeMessage,
  encodeKeepalive,
  encodeMessage,
  type MessageHeader,
} from '../remote/rpc/message';
import type { SessionAuth } from './auth/session-auth';
import type { CallContext } from './context';
import { AUTH_PROCEDURE_NAMES, BEFORE_OPEN, JOB_PROCEDURES, handlerFor } from './handlers';

const log = moduleLogger('tsvirtd');

/**
 * Applies a procedure's declared read-only policy, before its handler runs, as libvirt's public
 * API does on the daemon side (OPERATION_DENIED, domain DOMAIN, before any lookup or file access).
 */
export function checkReadOnly(proc: ProcedureDef, args: unknown): void {
  const policy = proc.readOnly;
  if (!policy) return;
  if (policy.kind === 'deny') {
    throw VirError.report(ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, `read only access prevents ${policy.fn}`);
  }
  const flags = (args as { flags?: unknown } | undefined)?.flags;
  if (typeof flags === 'number' && (flags & policy.mask) !== 0) {
    throw VirError.report(ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, policy.message);
  }
}

/** Per-client settings. */
export interface SessionOptions {
  /** Came in on the read-only socket: the connection is opened read-only whatever it asks. */
  readOnly: boolean;
  /** What CONNECT_IS_SECURE answers. */
  secure: boolean;
  /** Calls of ordinary priority running at once (libvirtd's max_client_requests). */
  maxRequests: number;
  keepalive: KeepaliveOptions;
  /** Label for logs (peer address or socket). */
  peer: string;
  /** What the client must do before anything but AUTH_* is served. */
  auth: SessionAuth;
}

interface Running {
  proc: ProcedureDef;
  dom?: DomainRef;
  done: Promise<void>;
}

interface Queued {
  header: MessageHeader;
  proc: ProcedureDef;
  args: unknown;
  /** High priority: may run past the ordinary request limit. */
  high: boolean;
  /** Frame size: queued arguments are views into their frames, which stay allocated. */
  bytes: number;
}

/** Queued calls beyond which the daemon stops reading from a client until it catches up. */
const QUEUE_PAUSE = 64;
/** Queued frame bytes beyond which reading stops too (a few 32 MiB frames, not 64 of them). */
const QUEUE_BYTES_PAUSE = 64 * 1024 * 1024;
/**
 * High-priority calls one client may run at once. They bypass the ordinary limit so job
 * monitoring overtakes a save, but unbounded they would let one client start any number of
 * concurrent driver calls; past this they queue like the rest.
 */
const HIGH_PRIORITY_MAX = 16;
/**
 * Reply bytes waiting for a client that does not read beyond which the daemon stops reading its
 * calls: without it a client that only writes makes the daemon buffer every reply.
 */
const OUTPUT_PAUSE = 40 * 1024 * 1024;

/** One connected client. */
export class ClientSession {
  private readonly splitter = new FrameSplitter();
  private conn: Connect | null = null;
  private closed = false;
  private readonly running = new Set<Running>();
  private readonly queue: Queued[] = [];
  private ordinaryRunning = 0;
  private highRunning = 0;
  private queuedBytes = 0;
  private readonly keepalive: KeepaliveMonitor;
  private readonly events = new Map<number, number>();
  private nextCallbackId = 1;
  private readonly closeListeners: Array<() => void> = [];

  /**
   * @param stream the client's byte stream
   * @param opts per-client settings
   */
  constructor(
    private readonly stream: Duplex,
    private readonly opts: SessionOptions,
  ) {
    this.keepalive = new KeepaliveMonitor(
      opts.keepalive,
      () => this.send(encodeKeepalive(KeepaliveProcedure.PING)),
      () => {
        log.info({ peer: opts.peer }, 'client missed keepalives: closing');
        void this.close();
      },
    );
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('drain', () => this.updateFlow());
    stream.on('error', (err) => log.debug({ peer: opts.peer, err: err.message }, 'client stream error'));
    stream.on('close', () => void this.close());
  }

  /** Calls in progress (running or queued). */
  get pendingCalls(): number {
    return this.running.size + this.queue.length;
  }

  /** Runs `cb` once when the session ends. */
  onClose(cb: () => void): void {
    this.closeListeners.push(cb);
  }

  /** Asks the driver to abort every job this client's calls started (daemon shutdown). */
  async abortJobs(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    const doms = [...this.running].filter((r) => r.dom && JOB_PROCEDURES.has(r.proc.name)).map((r) => r.dom as DomainRef);
    await Promise.all(doms.map((d) => conn.domainFromRef(d).abortJob(0).catch(() => undefined)));
  }

  /** Resolves when every running call has answered, or after `ms`. */
  async drain(ms: number): Promise<void> {
    const all = Promise.all([...this.running].map((r) => r.done));
    await Promise.race([all, new Promise((r) => setTimeout(r, ms).unref())]);
  }

  /** Ends the session: deregisters events, closes the connection and the stream. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.keepalive.stop();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.stream.destroy();
    const conn = this.conn;
    this.conn = null;
    if (conn && !conn.closed) {
      for (const id of this.events.values()) await conn.domainEventDeregisterAny(id).catch(() => undefined);
      await conn.close().catch((err) => log.debug({ err }, 'close of a client connection failed'));
    }
    for (const cb of this.closeListeners) cb();
  }

  private send(frame: Buffer): void {
    if (!this.closed && !this.stream.destroyed && this.stream.writable) {
      this.stream.write(frame);
      if (this.stream.writableLength > OUTPUT_PAUSE) this.updateFlow();
    }
  }

  /**
   * Stops reading the client's calls while too much of its work is queued or too many of its
   * replies are unread, and reads again once both fall back (with hysteresis, so a client at
   * the edge does not flap).
   */
  private updateFlow(): void {
    if (this.closed || this.stream.destroyed) return;
    const out = this.stream.writableLength;
    const paused = this.stream.isPaused();
    if (!paused && (this.queue.length >= QUEUE_PAUSE || this.queuedBytes >= QUEUE_BYTES_PAUSE || out > OUTPUT_PAUSE)) {
      this.stream.pause();
    } else if (paused && this.queue.length < QUEUE_PAUSE / 4 && this.queuedBytes < QUEUE_BYTES_PAUSE / 4 && out <= OUTPUT_PAUSE / 4) {
      this.stream.resume();
    }
  }

  private onData(chunk: Buffer): void {
    this.keepalive.touch();
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      // The length word was bad: the stream cannot be resynchronised.
      log.info({ peer: this.opts.peer, err: (err as Error).message }, 'unframeable data from client: closing');
      void this.close();
      return;
    }
    for (const f of frames) {
      if (this.closed) return;
      try {
        this.onFrame(f);
      } catch (err) {
        // A bug of ours, not the client's doing: this client is dropped, the daemon goes on.
        log.error({ peer: this.opts.peer, err }, 'internal error handling a frame: closing the client');
        void this.close();
        return;
      }
    }
  }

  /**
   * Sends an ERROR reply. Never throws: an error whose encoding fails (it cannot once its
   * strings are cut to the limits, but a bug must not end the daemon) is replaced by a plain
   * RPC error, and if even that fails the client is closed.
   */
  private replyError(h: MessageHeader, err: unknown, dom: DomainRef | null = null): void {
    const header = { ...h, type: MessageType.REPLY, status: MessageStatus.ERROR };
    let frame: Buffer;
    try {
      frame = encodeMessage(header, { type: remoteErrorWire, value: virErrorToRemoteError(err, dom) });
    } catch (encodeErr) {
      log.warn({ peer: this.opts.peer, proc: h.proc, err: (encodeErr as Error).message }, 'error reply not encodable: replaced');
      try {
        const plain = VirError.report(ErrorCode.RPC, ErrorDomain.RPC, `the error of procedure ${h.proc} could not be encoded`);
        frame = encodeMessage(header, { type: remoteErrorWire, value: virErrorToRemoteError(plain) });
      } catch (fatal) {
        log.error({ peer: this.opts.peer, err: fatal }, 'cannot encode any error reply: closing the client');
        void this.close();
        return;
      }
    }
    this.send(frame);
  }

  private onFrame(frame: Buffer): void {
    const { header: h, body } = decodeMessage(frame);
    if (h.prog === KEEPALIVE_PROGRAM && h.vers === 1 && h.type === MessageType.MESSAGE) {
      if (h.proc === KeepaliveProcedure.PING) this.send(encodeKeepalive(KeepaliveProcedure.PONG));
      return;
    }
    const rpcErr = (msg: string): VirError => VirError.report(ErrorCode.RPC, ErrorDomain.RPC, msg);
    if (h.prog !== REMOTE_PROGRAM || h.vers !== REMOTE_PROTOCOL_VERSION) {
      this.replyError(h, rpcErr(`cannot find program ${h.prog} version ${h.vers}`));
      return;
    }
    if (h.type !== MessageType.CALL) {
      this.replyError(h, rpcErr(`Unexpected message type ${h.type}`));
      return;
    }
    if (h.status !== MessageStatus.OK) {
      this.replyError(h, rpcErr(`Unexpected message status ${h.status}`));
      return;
    }
    const proc = procedureByNumber(h.proc);
    if (!proc || !handlerFor(proc)) {
      this.replyError(h, rpcErr(`unknown procedure: ${h.proc}`));
      return;
    }
    let args: unknown;
    try {
      args = decodeArgs(proc, body);
    } catch (err) {
      this.replyError(h, rpcErr(`cannot decode arguments of ${proc.name}: ${(err as Error).message}`));
      return;
    }
    const call: Queued = { header: h, proc, args, high: proc.priority === 'high', bytes: frame.length };
    if (this.canStart(call)) {
      this.start(call);
    } else {
      this.queue.push(call);
      this.queuedBytes += call.bytes;
      this.updateFlow();
    }
  }

  private canStart(call: Queued): boolean {
    return call.high ? this.highRunning < HIGH_PRIORITY_MAX : this.ordinaryRunning < this.opts.maxRequests;
  }

  private start(call: Queued): void {
    if (call.high) this.highRunning++;
    else this.ordinaryRunning++;
    const dom = (call.args as { dom?: DomainRef } | undefined)?.dom ?? undefined;
    const entry: Running = { proc: call.proc, dom, done: Promise.resolve() };
    entry.done = this.execute(call, dom ?? null)
      .catch((err) => log.error({ peer: this.opts.peer, proc: call.proc.name, err }, 'call failed outside its error reply'))
      .finally(() => {
        this.running.delete(entry);
        if (call.high) this.highRunning--;
        else this.ordinaryRunning--;
        this.next();
      });
    this.running.add(entry);
  }

  /** Starts every queued call that may run now, oldest first; a high-priority call overtakes ordinary ones. */
  private next(): void {
    for (let i = 0; !this.closed && i < this.queue.length; ) {
      const call = this.queue[i];
      if (this.canStart(call)) {
        this.queue.splice(i, 1);
        this.queuedBytes -= call.bytes;
        this.start(call);
      } else {
        i++;
      }
    }
    this.updateFlow();
  }

  private async execute(call: Queued, dom: DomainRef | null): Promise<void> {
    const h = call.header;
    const handler = handlerFor(call.proc) as NonNullable<ReturnType<typeof handlerFor>>;
    try {
      // libvirtd answers VIR_ERR_RPC here, not AUTH_FAILED, for clients predating that code.
      if (!this.opts.auth.authenticated && !AUTH_PROCEDURE_NAMES.has(call.proc.name)) {
        throw VirError.report(ErrorCode.RPC, ErrorDomain.RPC, 'authentication required');
      }
      if (!this.conn && !BEFORE_OPEN.has(call.proc.name)) {
        throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'connection not open');
      }
      if (this.conn?.readOnly) checkReadOnly(call.proc, call.args);
      const ret = await handler(this.context, call.args as never);
      const body = encodeRet(call.proc, ret);
      this.send(encodeMessage({ ...h, type: MessageType.REPLY, status: MessageStatus.OK }, body));
    } catch (err) {
      log.debug({ peer: this.opts.peer, proc: call.proc.name, err: (err as Error).message }, 'call failed');
      this.replyError(h, err, dom);
    }
  }

  private readonly context: CallContext = {
    conn: () => {
      if (!this.conn) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'connection not open');
      return this.conn;
    },
    dom: (ref) => this.context.conn().domainFromRef(ref),
    open: async (name, flags) => {
      if (this.conn) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'connection already open');
      const uri = name && name.length > 0 ? name : null;
      // The daemon never relays to another daemon: a name with a transport or host is refused.
      if (uri !== null) {
        const parsed = parseUri(uri);
        if (parsed.transport !== undefined || parsed.host !== undefined) {
          throw VirError.report(ErrorCode.NO_CONNECT, ErrorDomain.NONE, uri);
        }
      }
      const readOnly = this.opts.readOnly || (flags & ConnectFlags.RO) !== 0;
      const conn = await Connect.open(uri, { readOnly });
      if (this.closed) {
        await conn.close();
        return;
      }
      this.conn = conn;
      log.info({ peer: this.opts.peer, uri, readOnly }, 'client connection opened');
    },
    close: async () => {
      const conn = this.context.conn();
      this.conn = null;
      this.events.clear();
      await conn.close();
    },
    isSecure: () => this.opts.secure,
    auth: () => this.opts.auth,
    startKeepalive: () => this.keepalive.start(),
    registerEvent: async (eventId, filter) => {
      const conn = this.context.conn();
      const id = this.nextCallbackId++;
      const domain = filter ? conn.domainFromRef(filter) : null;
      // A kind tsvirt cannot put on the wire is still accepted (virsh `event --all` asks for
      // every id): no driver raises it, so nothing is ever sent for it.
      const codec = EVENT_MESSAGE_CODECS.get(eventId);
      const publicId = await conn.domainEventRegisterAny(
        eventId as DomainEventId,
        (ev) => {
          if (!codec) return;
          const wire: WireDomainEvent = { ...ev, domain: ev.domain.ref };
          this.send(
            encodeMessage(
              { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc: codec.proc.number, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK },
              encodeArgs(codec.proc, codec.toWire(id, wire)),
            ),
          );
        },
        domain,
      );
      this.events.set(id, publicId);
      return id;
    },
    deregisterEvent: async (callbackID) => {
      const publicId = this.events.get(callbackID);
      if (publicId === undefined) {
        throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `domain event callback ${callbackID} not registered`);
      }
      await this.context.conn().domainEventDeregisterAny(publicId);
      this.events.delete(callbackID);
    },
  };
}
