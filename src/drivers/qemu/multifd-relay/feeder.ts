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

async function pump(src: FeedSource, sock: net.Socket, opts: FeedOptions): Promise<void> {
  const hash = createHash('sha256');
  const fd = await fs.promises.open(src.path, 'r');
  try {
    let pos = 0;
    while (pos < src.length) {
      if (opts.signal?.aborted) throw VirError.report(ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, 'restore canceled');
      const want = Math.min(CHUNK, src.length - pos);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fd.read(buf, 0, want, src.offset + pos);
      if (bytesRead === 0) {
        throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `save image file '${src.path}' is truncated`);
      }
      const data = buf.subarray(0, bytesRead);
      hash.update(data);
      pos += bytesRead;
      opts.onProgress?.(src.channel, bytesRead);
      if (!sock.write(data)) {
        await new Promise<void>((resolve, reject) => {
          const onClose = (): void => reject(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'incoming migration connection closed'));
          sock.once('close', onClose);
          sock.once('drain', () => {
            sock.off('close', onClose);
            resolve();
          });
        });
      }
    }
  } finally {
    await fd.close();
  }
  await new Promise<void>((resolve) => sock.end(resolve));
  if (hash.digest('hex') !== src.sha256) {
    throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `checksum mismatch in save image file '${src.path}'`);
  }
}

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
    const cutAll = (err: unknown): never => {
      for (const s of sockets) s.destroy();
      throw err;
    };
    const results = await Promise.allSettled(ordered.map((src, i) => pump(src, sockets[i], opts).catch(cutAll)));
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw VirError.from(bad.reason, ErrorDomain.QEMU);
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err instanceof VirError ? err : VirError.system(ErrorDomain.QEMU, 'cannot feed the incoming migration', err);
  }
}
