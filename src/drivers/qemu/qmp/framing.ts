/**
 * QMP line framing. QEMU writes one JSON object per line ending in "\r\n"; a socket read may hold
 * a fraction of a line, several lines, or cut a UTF-8 sequence in two, so bytes are decoded
 * statefully and only complete lines are handed on.
 */
import { StringDecoder } from 'node:string_decoder';
import { monitorOverflowError } from './errors';
import type { VirError } from '../../../util/vir-error';

/** libvirt's QEMU_MONITOR_MAX_RESPONSE: the largest message it buffers (10 MiB). */
export const QMP_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** The result of feeding one chunk: the complete lines, or the error that makes the stream unusable. */
export interface FramerResult {
  lines: string[];
  error?: VirError;
}

/** Turns a byte stream into complete, non-empty lines, without their line ending. */
export class LineFramer {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private failed = false;

  /** @param maxLineLength Longest line accepted, in UTF-16 units (about bytes for QMP's ASCII JSON). */
  constructor(private readonly maxLineLength: number = QMP_MAX_MESSAGE_BYTES) {}

  /**
   * Adds a chunk and returns the lines it completed. Once a line exceeds the limit every later
   * call returns the same error: the stream has lost its framing and cannot be resynchronised.
   */
  push(chunk: Buffer | string): FramerResult {
    if (this.failed) return { lines: [], error: monitorOverflowError(this.maxLineLength) };
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl < 0) break;
      const line = this.pending.slice(start, nl).replace(/\r$/, '').trim();
      if (line.length > this.maxLineLength) return this.fail(lines);
      if (line !== '') lines.push(line);
      start = nl + 1;
    }
    this.pending = this.pending.slice(start);
    if (this.pending.length > this.maxLineLength) return this.fail(lines);
    return { lines };
  }

  /** Bytes received after the last line ending (useful to report a truncated last message). */
  get remainder(): string {
    return this.pending;
  }

  private fail(lines: string[]): FramerResult {
    this.failed = true;
    this.pending = '';
    return { lines, error: monitorOverflowError(this.maxLineLength) };
  }
}
