/**
 * The save side of a multifd migration on QEMU 7.2, which has no file transport: tsvirt listens
 * on a UNIX socket, QEMU opens the main connection and N channel connections, and each is
 * written to its own file — the main stream after the image header in FILE, channel k (1-based)
 * to FILE.k — as the RFC lays it out. Every byte is hashed on the way for the image's manifest.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { moduleLogger } from '../../../util/logger';
import { VirError } from '../../../util/vir-error';
import { StreamFileWriter, type WrittenStream } from './file-writer';
import { bytesNeededToClassify, classifyStream } from './stream-kind';

const log = moduleLogger('multifd-sink');

/** Where the sink writes. */
export interface MultifdSinkOptions {
  /** UNIX socket path QEMU is told to migrate to (`unix:<path>`). */
  socketPath: string;
  /** Number of multifd channels QEMU will open besides the main connection. */
  channels: number;
  /** The image file, already holding its header; the main stream is written from `mainOffset`. */
  mainFile: fs.FileHandle;
  mainOffset: number;
  /** Path of channel k's file (k = 1..channels). */
  channelPath(k: number): string;
  /** Called with (channel, bytes) as data arrives; channel 0 is the main stream. */
  onProgress?(channel: number, bytes: number): void;
}

/** One stored stream of the migration. */
export interface SinkStream extends WrittenStream {
  /** 0 = main stream, k = channel k. */
  channel: number;
  path: string;
}

/** A listening sink; `done` settles when every connection ended and its bytes are on disk. */
export class MultifdSink {
  private readonly server: net.Server;
  private readonly writers = new Map<number, { writer: StreamFileWriter; path: string; file?: fs.FileHandle }>();
  private readonly sockets = new Set<net.Socket>();
  /** Channels already seen, claimed before their file is open so a duplicate is caught at once. */
  private readonly claimed = new Set<number>();
  private ended = 0;
  private failed: VirError | null = null;
  private settle!: { resolve: (r: SinkStream[]) => void; reject: (e: VirError) => void };
  /** Settles with every stream once all N+1 connections have ended. */
  readonly done: Promise<SinkStream[]>;

  private constructor(private readonly opts: MultifdSinkOptions) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
    this.server = net.createServer({ pauseOnConnect: false }, (s) => this.accept(s));
  }

  /** Starts listening; QEMU can be told to migrate to `unix:<socketPath>` once this resolves. */
  static async listen(opts: MultifdSinkOptions): Promise<MultifdSink> {
    const sink = new MultifdSink(opts);
    await fs.rm(opts.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      sink.server.once('error', reject);
      sink.server.listen(opts.socketPath, () => resolve());
    });
    sink.server.on('error', (err) => sink.fail(VirError.system(ErrorDomain.QEMU, 'multifd sink socket failed', err)));
    return sink;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    let head = Buffer.alloc(0);
    let writer: StreamFileWriter | null = null;
    // Set once the connection is classified; its file opens asynchronously, and a short stream
    // may deliver its last byte and its EOF before that.
    let opening: Promise<StreamFileWriter | null> | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (writer) return writer.push(chunk);
      head = Buffer.concat([head, chunk]);
      if (opening || head.length < bytesNeededToClassify(head)) return;
      socket.pause();
      opening = this.open(socket, head).then(
        (w) => {
          writer = w;
          if (w) {
            w.push(head);
            socket.resume();
          }
          return w;
        },
        (err) => {
          this.fail(VirError.from(err, ErrorDomain.QEMU));
          return null;
        },
      );
    });
    socket.on('error', (err) => this.fail(VirError.system(ErrorDomain.QEMU, 'multifd connection failed', err)));
    let endSeen = false;
    // A connection destroyed before its end (a write error cut it, or QEMU died) never emits
    // 'end': without this the sink would wait for ever with the guest paused.
    socket.on('close', () => {
      if (!endSeen && !this.failed) this.fail(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'migration connection closed before the end of its stream'));
    });
    socket.on('end', () => {
      endSeen = true;
      void (async () => {
        const w = opening ? await opening : writer;
        if (!w && !this.failed) {
          this.fail(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'migration connection closed before it identified itself'));
        }
        if (++this.ended === this.opts.channels + 1) await this.finish();
      })();
    });
  }

  private async open(socket: net.Socket, head: Buffer): Promise<StreamFileWriter | null> {
    const kind = classifyStream(head);
    let channel: number;
    if (kind.kind === 'main') channel = 0;
    else if (kind.kind === 'channel' && kind.id < this.opts.channels) channel = kind.id + 1;
    else {
      this.fail(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'unexpected migration connection (neither the main stream nor a known multifd channel)'));
      return null;
    }
    if (this.claimed.has(channel)) {
      this.fail(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `multifd channel ${channel} connected twice`));
      return null;
    }
    this.claimed.add(channel);
    const onBytes = (n: number): void => this.opts.onProgress?.(channel, n);
    if (channel === 0) {
      const writer = new StreamFileWriter(this.opts.mainFile, this.opts.mainOffset, socket, onBytes, (err) => this.writeFailed(err));
      this.writers.set(0, { writer, path: '' });
      return writer;
    }
    const path = this.opts.channelPath(channel);
    const file = await fs.open(path, 'w', 0o600);
    if (this.failed) {
      // The sink failed while the file was opening: fail() already closed the others.
      await file.close();
      return null;
    }
    const writer = new StreamFileWriter(file, 0, socket, onBytes, (err) => this.writeFailed(err));
    this.writers.set(channel, { writer, path, file });
    log.debug({ channel, path }, 'multifd channel connected');
    return writer;
  }

  private async finish(): Promise<void> {
    try {
      const out: SinkStream[] = [];
      for (const [channel, { writer, path, file }] of [...this.writers.entries()].sort((a, b) => a[0] - b[0])) {
        const w = await writer.finish();
        if (file) {
          await file.datasync();
          await file.close();
        }
        out.push({ channel, path, ...w });
      }
      if (this.failed) return;
      if (out.length !== this.opts.channels + 1) {
        return this.fail(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `expected ${this.opts.channels + 1} migration connections, got ${out.length}`));
      }
      this.server.close();
      this.settle.resolve(out);
    } catch (err) {
      this.fail(VirError.system(ErrorDomain.QEMU, 'cannot write save image', err));
    }
  }

  private writeFailed(err: unknown): void {
    this.fail(VirError.system(ErrorDomain.QEMU, 'cannot write save image', err));
  }

  /** Stops with an error: every connection is cut and `done` rejects. */
  fail(err: VirError): void {
    if (this.failed) return;
    this.failed = err;
    log.debug({ err: err.message }, 'multifd sink failed');
    for (const s of this.sockets) s.destroy();
    this.server.close();
    void Promise.all([...this.writers.values()].map((w) => w.file?.close().catch(() => undefined))).then(() => this.settle.reject(err));
  }

  /** The error the sink stopped with, or null while it has not failed. */
  get failure(): VirError | null {
    return this.failed;
  }

  /** Paths of the channel files opened so far (for cleanup after a failure). */
  channelFiles(): string[] {
    return [...this.writers.entries()].filter(([c]) => c > 0).map(([, w]) => w.path);
  }

  /** Closes the listener and every connection (idempotent). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    await fs.rm(this.opts.socketPath, { force: true });
  }
}
