/**
 * The restore side of a multifd migration: QEMU listens (`migrate-incoming unix:<path>`), tsvirt
 * connects the main stream first and then every channel, and pumps all of them at once —
 * QEMU's channel threads wait for the main thread at each sync point, so feeding one file
 * after another would deadlock. Each stream is hashed while it is sent; a mismatch is reported
 * naming the file, so the caller never lets the guest run on bad memory.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';

/** One stored stream to send. */
export interface FeedSource {
  /** 0 = main stream, k = channel k. */
  channel: number;
  path: string;
  offset: number;
  length: number;
  /** Expected SHA-256 (hex). */
  sha256: string;
}

/** Options of {@link feedMultifd}. */
export interface FeedOptions {
  socketPath: string;
  sources: FeedSource[];
  onProgress?(channel: number, bytes: number): void;
  signal?: AbortSignal;
}

const CHUNK = 4 * 1024 * 1024;

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** How one stream's feed ended: `intact` is whether its bytes matched the recorded checksum. */
interface PumpResult {
  intact: boolean;
  /** Set when sending failed (QEMU closed the connection, or another stream's failure cut it). */
  sendError?: unknown;
}

/** QEMU that stops reading for this long is taken as stuck (a mismatched stream can hang it). */
export const FEED_STALL_MS = 60_000;

function closedError(): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'incoming migration connection closed');
}

/**
 * Writes one chunk and settles once the kernel took all of it, so its buffer can be reused; a
 * closed connection or a QEMU that stops reading for FEED_STALL_MS rejects.
 */
function writeChunk(sock: net.Socket, data: Buffer): Promise<void> {
  if (sock.destroyed) return Promise.reject(closedError());
  return new Promise<void>((resolve, reject) => {
    const done = (err?: VirError): void => {
      clearTimeout(timer);
      sock.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = (): void => done(closedError());
    const timer = setTimeout(
      () => done(VirError.report(ErrorCode.OPERATION_TIMEOUT, ErrorDomain.QEMU, `QEMU stopped reading the incoming migration for ${FEED_STALL_MS / 1000} s`)),
      FEED_STALL_MS,
    );
    sock.once('close', onClose);
    sock.write(data, (err) => done(err ? closedError() : undefined));
  });
}

/** Half-closes a stream once sent; settles too when another stream's failure destroyed it. */
function endStream(sock: net.Socket): Promise<void> {
  if (sock.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    sock.once('close', () => resolve());
    sock.end(() => resolve());
  });
}

/**
 * Sends one stored stream and hashes it on the way. When sending fails the rest of the file is
 * still hashed, so the caller can tell a damaged file (QEMU choked on it) from a healthy one
 * whose connection was merely cut.
 */
async function pump(src: FeedSource, sock: net.Socket, opts: FeedOptions, onSendError: () => void, stop: { failed: boolean }): Promise<PumpResult> {
  const hash = createHash('sha256');
  const fd = await fs.promises.open(src.path, 'r');
  // Two buffers per stream: one is read and hashed while the other is being sent. Reusing them
  // (instead of a fresh buffer per chunk) keeps memory flat and avoids faulting in new pages.
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  const sending: Array<Promise<void> | null> = [null, null];
  let sendError: unknown;
  const settle = async (k: number): Promise<void> => {
    const p = sending[k];
    sending[k] = null;
    if (!p) return;
    try {
      await p;
    } catch (err) {
      if (sendError === undefined) {
        sendError = err;
        onSendError();
      }
    }
  };
  try {
    let pos = 0;
    for (let k = 0; pos < src.length; k ^= 1) {
      if (opts.signal?.aborted) throw VirError.report(ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, 'restore canceled');
      // Another stream failed for good (read error, abort): its error is the one reported.
      if (stop.failed) throw new StoppedByPeer();
      await settle(k);
      const want = Math.min(CHUNK, src.length - pos);
      const { bytesRead } = await fd.read(bufs[k], 0, want, src.offset + pos).catch((err: unknown) => {
        throw VirError.system(ErrorDomain.QEMU, `cannot read save image file '${src.path}'`, err);
      });
      if (bytesRead === 0) {
        throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `save image file '${src.path}' is truncated`);
      }
      const data = bufs[k].subarray(0, bytesRead);
      hash.update(data);
      pos += bytesRead;
      if (sendError !== undefined) continue;
      opts.onProgress?.(src.channel, bytesRead);
      const write = writeChunk(sock, data);
      // Observed by settle(); a throw above must not leave it as an unhandled rejection.
      write.catch(() => undefined);
      sending[k] = write;
    }
    await settle(0);
    await settle(1);
  } finally {
    // A close error must not hide the error that ended the stream.
    await fd.close().catch(() => undefined);
  }
  if (sendError === undefined) await endStream(sock);
  return { intact: hash.digest('hex') === src.sha256, sendError };
}

/** A pump that stopped because another failed; never the error reported. */
class StoppedByPeer extends Error {}

/**
 * Sends every stream into QEMU's incoming migration socket, main first. Resolves when all were
 * sent and their checksums matched; rejects (after cutting every connection) otherwise.
 */
export async function feedMultifd(opts: FeedOptions): Promise<void> {
  const ordered = [...opts.sources].sort((a, b) => a.channel - b.channel);
  if (ordered[0]?.channel !== 0) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, 'multifd restore needs a main stream');
  const sockets: net.Socket[] = [];
  try {
    // QEMU 7.2 takes the first connection as the main stream: it must be fully connected before
    // any channel connects.
    for (const src of ordered) {
      const s = await connect(opts.socketPath);
      s.on('error', () => undefined);
      sockets.push(s);
      if (src.channel === 0) await new Promise((r) => setImmediate(r));
    }
    // One failed stream stalls QEMU's other channels at their next sync point: cut them all.
    const cutAll = (): void => {
      for (const s of sockets) s.destroy();
    };
    // Every pump has closed its file before the error is reported: a caller that checks for open
    // fds (or removes the image) right after must find none.
    const stop = { failed: false };
    const settled = await Promise.allSettled(
      ordered.map((src, i) =>
        pump(src, sockets[i], opts, cutAll, stop).catch((err) => {
          stop.failed = true;
          cutAll();
          throw err;
        }),
      ),
    );
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof StoppedByPeer));
    if (failure) throw failure.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<PumpResult>).value);
    // A damaged file is the cause worth naming, whichever connection failed first.
    const bad = ordered.find((_, i) => !results[i].intact);
    if (bad) throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `checksum mismatch in save image file '${bad.path}'`);
    const cut = results.find((r) => r.sendError !== undefined);
    if (cut) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `QEMU closed the incoming migration before the image was sent: ${VirError.from(cut.sendError).message}`);
    }
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err instanceof VirError ? err : VirError.system(ErrorDomain.QEMU, 'cannot feed the incoming migration', err);
  }
}
