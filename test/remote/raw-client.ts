/** A bare socket speaking frames, for tests that send what no well-behaved client would. */
import net from 'node:net';
import { decodeXdr } from '../../src/remote/xdr';
import { FrameSplitter, MessageStatus, MessageType, REMOTE_PROGRAM, decodeMessage, encodeMessage, type RpcMessage } from '../../src/remote/rpc/message';
import { encodeArgs, type ProcedureDef } from '../../src/remote/protocol/procedure';
import { remoteError } from '../../src/remote/protocol/types';
import type { VirError } from '../../src/util/vir-error';

/** A raw connection to a daemon socket. */
export class RawClient {
  private readonly splitter = new FrameSplitter();
  private readonly inbox: RpcMessage[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedP: Promise<void>;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c) => {
      for (const f of this.splitter.push(c)) this.inbox.push(decodeMessage(Buffer.from(f)));
      this.wake();
    });
    sock.on('error', () => undefined);
    this.closedP = new Promise((r) =>
      sock.on('close', () => {
        this.closed = true;
        this.wake();
        r();
      }),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Connects to a UNIX socket path. */
  static connect(file: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(file);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Writes raw bytes. */
  write(b: Buffer): void {
    this.sock.write(b);
  }

  /** Sends a well-formed CALL of `proc` with `serial`. */
  call<A>(proc: ProcedureDef<A>, args: A, serial: number): void {
    this.write(
      encodeMessage(
        { prog: REMOTE_PROGRAM, vers: 1, proc: proc.number, type: MessageType.CALL, serial, status: MessageStatus.OK },
        encodeArgs(proc, args),
      ),
    );
  }

  /** The next frame, or null when the connection closes or `ms` pass first. */
  async next(ms = 3000): Promise<RpcMessage | null> {
    const end = Date.now() + ms;
    while (this.inbox.length === 0) {
      if (this.closed || Date.now() >= end) return null;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, Math.max(1, end - Date.now())).unref();
      });
    }
    return this.inbox.shift() as RpcMessage;
  }

  /** Decodes an ERROR reply's body. */
  static error(m: RpcMessage): VirError {
    if (m.header.status !== MessageStatus.ERROR) throw new Error(`expected an error reply, got status ${m.header.status}`);
    return decodeXdr(remoteError, m.body);
  }

  /** Closes the socket. */
  close(): void {
    this.sock.destroy();
  }
}
