/**
 * A QMP client over QEMU's monitor UNIX socket: the handshake, commands multiplexed by id,
 * events, and libvirt's error semantics when the monitor dies.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { moduleLogger } from '../../../util/logger';
import { VirError } from '../../../util/vir-error';
import {
  abortedError,
  monitorClosedError,
  monitorEofError,
  monitorParseError,
  monitorReadError,
  monitorTimeoutError,
  monitorUnexpectedMessageError,
  monitorWriteError,
  qmpCommandError,
  qmpMissingReturnError,
} from './errors';
import { LineFramer } from './framing';
import { parseGreeting } from './greeting';
import { openMonitorSocket } from './socket';
import {
  isJsonObject,
  type ConnectOptions,
  type ExecuteOptions,
  type QemuVersion,
  type QmpErrorBody,
  type QmpEvent,
  type QmpGreetingInfo,
  type WaitForEventOptions,
} from './types';
import { waitForClientEvent } from './event-wait';

const log = moduleLogger('qmp');

/** Handshake budget when the caller gives none; libvirt waits about as long for a new QEMU. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** Reply budget of one command when the caller gives none. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** Ids of timed-out commands kept to drop their late replies quietly; older ones are forgotten. */
const MAX_ABANDONED_IDS = 1024;

/**
 * Events a {@link QmpClient} emits: `event` for each asynchronous QMP event (STOP, RESUME,
 * SHUTDOWN, MIGRATION, ...), `closed` once when the monitor is gone, with the error saying why
 * (EOF, reset, garbage, or OPERATION_FAILED after close()).
 */
export type QmpClientEvents = {
  event: [QmpEvent];
  closed: [VirError];
};

interface PendingCommand {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: VirError) => void;
  timer?: NodeJS.Timeout;
}

/**
 * One QMP session. Obtain it with {@link QmpClient.connect}; it is ready for commands once the
 * promise resolves. Several commands may be in flight: replies are matched by their id.
 */
export class QmpClient extends EventEmitter<QmpClientEvents> {
  private readonly framer = new LineFramer();
  private readonly pending = new Map<string, PendingCommand>();
  private readonly abandoned = new Set<string>();
  private nextId = 0;
  private closeError: VirError | null = null;
  private greetingInfo: QmpGreetingInfo | null = null;
  private greetingWaiter: { resolve: () => void; reject: (err: VirError) => void } | null = null;
  private readonly socketClosed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly name: string,
    private readonly commandTimeoutMs: number,
  ) {
    super();
    this.socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(err.syscall === 'write' ? monitorWriteError(err) : monitorReadError(err));
    });
    // 'end' is QEMU closing its side (quit, crash); 'close' also covers destroy() without 'end'.
    socket.on('end', () => this.fail(monitorEofError(this.name || undefined)));
    socket.on('close', () => this.fail(monitorEofError(this.name || undefined)));
  }

  /**
   * Connects to QEMU's QMP socket, reads the greeting and leaves capabilities negotiation mode
   * with `qmp_capabilities`. Rejects with SYSTEM_ERROR when the socket cannot be reached,
   * OPERATION_TIMEOUT when the handshake exceeds `timeoutMs`, INTERNAL_ERROR on a bad greeting.
   */
  static async connect(socketPath: string, options: ConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : null;
    const socket = await openMonitorSocket(socketPath, deadline, options.retry ?? false, options.signal);
    const client = new QmpClient(socket, options.name ?? '', options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    const onAbort = (): void => client.fail(abortedError('connecting to the QEMU monitor was abandoned'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await client.handshake(deadline, timeoutMs);
      if (options.signal?.aborted) throw abortedError('connecting to the QEMU monitor was abandoned');
    } catch (err) {
      const e = VirError.from(err, ErrorDomain.QEMU);
      client.fail(e);
      throw e;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    log.debug({ socketPath, version: client.version }, 'QMP session ready');
    return client;
  }

  /** QEMU's version from the greeting. */
  get version(): QemuVersion {
    return { ...this.greeting.version };
  }

  /** Everything the greeting said (version, package string, offered capabilities). */
  get greeting(): QmpGreetingInfo {
    // connect() only hands out clients whose greeting arrived, so this is a programming error.
    if (!this.greetingInfo) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, 'QMP greeting not received yet');
    return this.greetingInfo;
  }

  /** True once the monitor is closed, by either side; every later call is rejected. */
  get closed(): boolean {
    return this.closeError !== null;
  }

  /** Why the monitor closed, or null while it is open. */
  get closeReason(): VirError | null {
    return this.closeError;
  }

  /**
   * Runs one QMP command and resolves with its `return` value. A QMP error rejects with
   * INTERNAL_ERROR "unable to execute QEMU command '<cmd>': <desc>" (a {@link QmpCommandError});
   * no reply within the timeout rejects with OPERATION_TIMEOUT, and the late reply, should it
   * come, is dropped; a dead monitor rejects with the error that killed it.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<T> {
    if (this.closeError) return Promise.reject(this.closeError);
    const id = `tsvirt-${++this.nextId}`;
    const message: Record<string, unknown> = { execute: command };
    if (args !== undefined) message.arguments = args;
    message.id = id;
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const entry: PendingCommand = { command, resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => this.abandon(id, entry, timeoutMs), timeoutMs);
      }
      this.pending.set(id, entry);
      log.debug({ id, command }, 'QMP send');
      // No line terminator: QEMU's JSON streamer dispatches on the closing brace and suspends the
      // monitor while the command runs, so bytes after it stay unread; after `quit` they made
      // QEMU's close look like ECONNRESET instead of a clean EOF.
      this.socket.write(JSON.stringify(message));
    });
  }

  /**
   * Resolves with the next event called `name` that satisfies `predicate`. Register it before
   * running the command that causes the event: QEMU often sends the event before the reply.
   * Rejects with OPERATION_TIMEOUT after `timeoutMs`, OPERATION_ABORTED when `signal` aborts,
   * or the close error if the monitor dies first. A number as third argument is `timeoutMs`.
   */
  waitForEvent(
    name: string,
    predicate?: (event: QmpEvent) => boolean,
    options: number | WaitForEventOptions = {},
  ): Promise<QmpEvent> {
    const opts = typeof options === 'number' ? { timeoutMs: options } : options;
    return waitForClientEvent(this, name, predicate, opts);
  }

  /**
   * Closes the monitor. Pending commands and event waits are rejected with OPERATION_FAILED
   * "QEMU monitor closed" and `closed` is emitted once. Safe to call any number of times;
   * resolves when the socket is fully closed.
   */
  close(): Promise<void> {
    this.fail(monitorClosedError());
    return this.socketClosed;
  }

  private async handshake(deadline: number | null, timeoutMs: number): Promise<void> {
    const remaining = (): number => (deadline === null ? 0 : Math.max(1, deadline - Date.now()));
    await new Promise<void>((resolve, reject) => {
      if (this.greetingInfo) return resolve();
      if (this.closeError) return reject(this.closeError);
      let timer: NodeJS.Timeout | undefined;
      this.greetingWaiter = {
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          if (timer) clearTimeout(timer);
          reject(err);
        },
      };
      if (deadline !== null) {
        timer = setTimeout(
          () => this.greetingWaiter?.reject(monitorTimeoutError('QEMU monitor sent no QMP greeting', timeoutMs)),
          remaining(),
        );
      }
    });
    this.greetingWaiter = null;
    await this.execute('qmp_capabilities', undefined, { timeoutMs: remaining() });
  }

  private onData(chunk: Buffer): void {
    if (this.closeError) return;
    const { lines, error } = this.framer.push(chunk);
    for (const line of lines) {
      if (this.closeError) return;
      this.onLine(line);
    }
    if (error) this.fail(error);
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      this.fail(monitorParseError(line, err instanceof Error ? err.message : String(err)));
      return;
    }
    if (!isJsonObject(msg)) {
      this.fail(monitorUnexpectedMessageError(line));
      return;
    }
    if (!this.greetingInfo) {
      const parsed = parseGreeting(msg, line);
      if (parsed instanceof VirError) {
        this.fail(parsed);
        return;
      }
      this.greetingInfo = parsed;
      this.greetingWaiter?.resolve();
      return;
    }
    if (typeof msg.event === 'string') {
      this.dispatchEvent(msg);
    } else if ('return' in msg || 'error' in msg) {
      this.dispatchReply(msg);
    } else if (!('QMP' in msg)) {
      // A second greeting is harmless (libvirt ignores it too); anything else means we lost sync.
      this.fail(monitorUnexpectedMessageError(line));
    }
  }

  private dispatchEvent(msg: Record<string, unknown>): void {
    const ts = isJsonObject(msg.timestamp) ? msg.timestamp : {};
    const event: QmpEvent = {
      event: msg.event as string,
      data: isJsonObject(msg.data) ? msg.data : {},
      timestamp: {
        seconds: typeof ts.seconds === 'number' ? ts.seconds : 0,
        microseconds: typeof ts.microseconds === 'number' ? ts.microseconds : 0,
      },
    };
    log.debug({ event: event.event }, 'QMP event');
    this.safeEmit('event', event);
  }

  private dispatchReply(msg: Record<string, unknown>): void {
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (!entry || id === undefined) {
      if (id !== undefined && this.abandoned.delete(id)) {
        log.debug({ id }, 'dropping late QMP reply of a timed-out command');
      } else {
        log.warn({ id: msg.id }, 'QMP reply matches no pending command; dropped');
      }
      return;
    }
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    if ('error' in msg) {
      entry.reject(qmpCommandError(entry.command, isJsonObject(msg.error) ? (msg.error as QmpErrorBody) : null));
    } else if ('return' in msg) {
      entry.resolve(msg.return);
    } else {
      entry.reject(qmpMissingReturnError(entry.command));
    }
  }

  private abandon(id: string, entry: PendingCommand, timeoutMs: number): void {
    if (this.pending.get(id) !== entry) return;
    this.pending.delete(id);
    this.abandoned.add(id);
    if (this.abandoned.size > MAX_ABANDONED_IDS) {
      const oldest = this.abandoned.values().next().value;
      if (oldest !== undefined) this.abandoned.delete(oldest);
    }
    entry.reject(monitorTimeoutError(`QEMU monitor command '${entry.command}' got no reply`, timeoutMs));
  }

  /** Marks the monitor dead with `err` (first cause wins) and fails everything waiting on it. */
  private fail(err: VirError): void {
    if (this.closeError) return;
    this.closeError = err;
    log.debug({ err: err.message }, 'QMP monitor closed');
    this.socket.destroy();
    this.greetingWaiter?.reject(err);
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.abandoned.clear();
    for (const entry of pending) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(err);
    }
    this.safeEmit('closed', err);
  }

  /**
   * Calls each listener on its own: with plain emit() one throwing listener would skip the rest
   * (including event waits) and unwind into the socket's read loop.
   */
  private safeEmit<K extends keyof QmpClientEvents>(name: K, arg: QmpClientEvents[K][0]): void {
    for (const listener of this.rawListeners(name)) {
      try {
        (listener as (a: unknown) => void).call(this, arg);
      } catch (err) {
        log.error({ err, name }, 'QMP listener threw');
      }
    }
  }
}
