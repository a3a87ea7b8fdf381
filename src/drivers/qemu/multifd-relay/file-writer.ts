/**
 * Sequential positional writes of one incoming stream into a file, with backpressure on the
 * socket and a running SHA-256, batching the socket's small chunks into large writev calls.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';

/** Pause reading once this much is queued for the disk. */
const HIGH_WATER = 16 * 1024 * 1024;

/** What a finished stream wrote. */
export interface WrittenStream {
  offset: number;
  length: number;
  sha256: string;
}

/** Writes a stream's bytes at `offset..` of `file`. */
export class StreamFileWriter {
  private readonly hash: Hash = createHash('sha256');
  private queue: Buffer[] = [];
  private queued = 0;
  private written = 0;
  private writing: Promise<void> | null = null;
  private error: unknown = null;

  constructor(
    private readonly file: FileHandle,
    readonly offset: number,
    private readonly socket: Socket,
    private readonly onBytes: (n: number) => void,
    /** Told of the first write error, once: the socket is already cut by then. */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Bytes accepted so far (queued or on disk). */
  get length(): number {
    return this.written + this.queued;
  }

  /** Takes a chunk from the socket. */
  push(chunk: Buffer): void {
    if (this.error) return;
    this.hash.update(chunk);
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.onBytes(chunk.length);
    if (this.queued > HIGH_WATER) this.socket.pause();
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        const size = this.queued;
        this.queue = [];
        this.queued = 0;
        let done = 0;
        while (done < size) {
          // writev may write less than asked on some file systems: continue where it stopped.
          const { bytesWritten } = await this.file.writev(sliceFrom(batch, done), this.offset + this.written + done);
          done += bytesWritten;
        }
        this.written += size;
        if (this.socket.isPaused() && this.queued <= HIGH_WATER) this.socket.resume();
      }
    } catch (err) {
      this.error = err;
      this.socket.destroy();
      this.onError(err);
    } finally {
      this.writing = null;
    }
  }

  /** Waits for every queued byte to reach the file and returns what was written. */
  async finish(): Promise<WrittenStream> {
    while (this.writing) await this.writing;
    if (this.error) throw this.error;
    return { offset: this.offset, length: this.written, sha256: this.hash.digest('hex') };
  }
}

function sliceFrom(bufs: Buffer[], skip: number): Buffer[] {
  if (skip === 0) return bufs;
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
