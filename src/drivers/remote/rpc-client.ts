/**
 * The client end of libvirt's RPC: numbered calls over one byte stream, many in flight, replies
 * matched by serial in whatever order they come, asynchronous MESSAGEs (events) handed to a
 * listener, keepalive answered and, once started, sent, and a dead or closed peer failing every
 * outstanding call instead of leaving it hanging.
 */
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { decodeXdr } from '../../remote/xdr';
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
  type RpcMessage,
} from '../../remote/rpc/message';
import { DEFAULT_KEEPALIVE, KeepaliveMonitor, type KeepaliveOptions } from '../../remote/rpc/keepalive';
import { decodeRet, type ProcArgs, type ProcRet, type ProcedureDef } from '../../remote/protocol/procedure';
import { remoteError } from '../../remote/protocol/types';

const log = moduleLogger('remote-client');

/** Receives asynchronous MESSAGEs of the remote program (events). */
export type MessageListener = (proc: number, body: Buffer) => void;

interface Pending {
  proc: ProcedureDef;
  resolve: (v: unknown) => void;
  reject: (e: VirError) => void;
}

/** One RPC connection to a daemon. */
export class RpcClient {
  private readonly splitter = new FrameSplitter();
  private readonly pending = new Map<number, Pending>();
  private serial = 0;
  private failure: VirError | null = null;
  private readonly keepalive: KeepaliveMonitor;
  private listener: MessageListener | null = null;
  private closeListeners: Array<(reason: VirError) => void> = [];

  /**
   * @param stream the transport (UNIX or TCP socket, TLS socket, or an ssh child's pipes)
   * @param keepalive timing used once startKeepalive() is called
   */
  constructor(
    private readonly stream: Duplex,
    keepalive: KeepaliveOptions = DEFAULT_KEEPALIVE,
  ) {
    this.keepalive = new KeepaliveMonitor(
      keepalive,
      () => this.write(encodeKeepalive(KeepaliveProcedure.PING)),
      () => this.fail(VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'connection closed due to keepalive timeout')),
    );
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    // A transport may hand the stream over paused (TLS pauses it after reading the confirmation byte).
    stream.resume();
    stream.on('error', (err) => this.fail(VirError.system(ErrorDomain.RPC, 'Cannot recv data', err)));
    stream.on('close', () => this.fail(VirError.plain(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, 'End of file while reading data: Input/output error')));
  }

  /** True once the connection failed or was closed. */
  get closed(): boolean {
    return this.failure !== null;
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sets the listener for event MESSAGEs. */
  onMessage(listener: MessageListener): void {
    this.listener = listener;
  }

  /** Registers a callback run once when the connection ends, with the reason. */
  onClose(cb: (reason: VirError) => void): void {
    this.closeListeners.push(cb);
  }

  /** Starts sending PINGs when the daemon is idle and detecting a dead daemon. */
  startKeepalive(): void {
    this.keepalive.start();
  }

  /** Sends one call and resolves with its decoded reply, or rejects with the daemon's VirError. */
  call<P extends ProcedureDef>(proc: P, args: ProcArgs<P>): Promise<ProcRet<P>> {
    if (this.failure) return Promise.reject(this.failure);
    this.serial = (this.serial + 1) >>> 0;
    const serial = this.serial;
    let frame: Buffer;
    try {
      frame = encodeMessage(
        { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc: proc.number, type: MessageType.CALL, serial, status: MessageStatus.OK },
        { type: proc.args, value: args },
      );
    } catch (err) {
      return Promise.reject(VirError.report(ErrorCode.RPC, ErrorDomain.RPC, `cannot encode ${proc.name}: ${(err as Error).message}`));
    }
    return new Promise<ProcRet<P>>((resolve, reject) => {
      this.pending.set(serial, { proc, resolve: resolve as (v: unknown) => void, reject });
      this.write(frame);
    });
  }

  /** Ends the connection; outstanding calls fail. */
  async close(): Promise<void> {
    if (!this.failure) this.fail(VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'client socket is closed'));
  }

  private write(frame: Buffer): void {
    if (this.failure || this.stream.destroyed) return;
    this.stream.write(frame);
  }

  private onData(chunk: Buffer): void {
    this.keepalive.touch();
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      this.fail(VirError.report(ErrorCode.RPC, ErrorDomain.RPC, (err as Error).message));
      return;
    }
    for (const f of frames) {
      try {
        this.onFrame(decodeMessage(f));
      } catch (err) {
        this.fail(VirError.report(ErrorCode.RPC, ErrorDomain.RPC, (err as Error).message));
        return;
      }
    }
  }

  private onFrame(msg: RpcMessage): void {
    const h = msg.header;
    if (h.prog === KEEPALIVE_PROGRAM) {
      if (h.proc === KeepaliveProcedure.PING) this.write(encodeKeepalive(KeepaliveProcedure.PONG));
      return;
    }
    if (h.prog !== REMOTE_PROGRAM) {
      log.warn({ prog: h.prog }, 'message for an unknown program ignored');
      return;
    }
    if (h.type === MessageType.MESSAGE) {
      this.listener?.(h.proc, msg.body);
      return;
    }
    if (h.type !== MessageType.REPLY) return;
    const p = this.pending.get(h.serial);
    if (!p) {
      log.warn({ serial: h.serial, proc: h.proc }, 'reply to no pending call');
      return;
    }
    this.pending.delete(h.serial);
    try {
      if (h.status === MessageStatus.OK) p.resolve(decodeRet(p.proc, msg.body));
      else p.reject(decodeXdr(remoteError, msg.body));
    } catch (err) {
      p.reject(VirError.report(ErrorCode.RPC, ErrorDomain.RPC, `malformed reply to ${p.proc.name}: ${(err as Error).message}`));
    }
  }

  private fail(reason: VirError): void {
    if (this.failure) return;
    this.failure = reason;
    this.keepalive.stop();
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.stream.destroy();
    for (const cb of this.closeListeners) cb(reason);
  }
}
