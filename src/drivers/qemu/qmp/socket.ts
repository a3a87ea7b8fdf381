/**
 * Opening the monitor's UNIX socket. QEMU creates the socket some time after it was spawned, so
 * like libvirt's qemuMonitorOpenUnix the caller may ask to retry while it is missing or refusing.
 */
import * as net from 'node:net';
import { abortedError, monitorConnectError, monitorTimeoutError } from './errors';

/**
 * How long to sleep between two connection attempts while QEMU starts up. An attempt is one
 * failed connect(2); a long sleep only adds its half to every guest start (an instant restore
 * takes a third of a second in all).
 */
const RETRY_INTERVAL_MS = 10;

/** errnos that mean "QEMU has not started listening yet" rather than a real failure. */
const RETRYABLE = new Set(['ENOENT', 'ECONNREFUSED']);

/**
 * Connects to `path`. With `retry`, ENOENT and ECONNREFUSED are retried until `deadline`
 * (epoch ms, or null for no limit); the last errno is then reported as libvirt does. An aborted
 * `signal` ends the attempts (OPERATION_ABORTED).
 */
export async function openMonitorSocket(path: string, deadline: number | null, retry: boolean, signal?: AbortSignal): Promise<net.Socket> {
  for (;;) {
    if (signal?.aborted) throw abortedError('connecting to the QEMU monitor was abandoned');
    const remaining = deadline === null ? null : deadline - Date.now();
    try {
      const socket = await connectOnce(path, remaining);
      if (signal?.aborted) {
        socket.destroy();
        throw abortedError('connecting to the QEMU monitor was abandoned');
      }
      return socket;
    } catch (err) {
      if (signal?.aborted) throw abortedError('connecting to the QEMU monitor was abandoned');
      const code = (err as NodeJS.ErrnoException).code;
      const left = deadline === null ? Infinity : deadline - Date.now();
      if (!retry || !code || !RETRYABLE.has(code) || left <= 0) {
        throw code ? monitorConnectError(err) : err;
      }
      await sleep(Math.min(RETRY_INTERVAL_MS, left));
    }
  }
}

function connectOnce(path: string, remainingMs: number | null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      if (timer) clearTimeout(timer);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
    };
    const onConnect = (): void => {
      done();
      resolve(socket);
    };
    const onError = (err: Error): void => {
      done();
      socket.destroy();
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    if (remainingMs !== null) {
      // A UNIX connect normally completes or fails at once; this only guards against a wedged peer.
      timer = setTimeout(() => {
        done();
        socket.destroy();
        reject(monitorTimeoutError('could not connect to QEMU monitor socket', Math.max(0, remainingMs)));
      }, Math.max(0, remainingMs));
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
