/** The one-shot event wait behind {@link QmpClient.waitForEvent}. */
import type { EventEmitter } from 'node:events';
import { ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import { abortedError, monitorTimeoutError } from './errors';
import type { QmpEvent, WaitForEventOptions } from './types';

/** The part of the client an event wait needs. */
export interface EventSource extends Pick<EventEmitter, 'on' | 'removeListener'> {
  readonly closeReason: VirError | null;
}

/**
 * Resolves with the first `name` event accepted by `predicate`; every exit path (match, timeout,
 * abort, monitor closed, predicate throwing) removes the listeners so waits cannot leak.
 */
export function waitForClientEvent(
  source: EventSource,
  name: string,
  predicate: ((event: QmpEvent) => boolean) | undefined,
  options: WaitForEventOptions,
): Promise<QmpEvent> {
  return new Promise<QmpEvent>((resolve, reject) => {
    if (source.closeReason) return reject(source.closeReason);
    const { signal, timeoutMs } = options;
    const cancelled = (): VirError => abortedError(`wait for QEMU event '${name}' cancelled`);
    if (signal?.aborted) return reject(cancelled());
    let timer: NodeJS.Timeout | undefined;

    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      source.removeListener('event', onEvent);
      source.removeListener('closed', onClosed);
      signal?.removeEventListener('abort', onAbort);
    };
    const onEvent = (event: QmpEvent): void => {
      if (event.event !== name) return;
      let accepted: boolean;
      try {
        accepted = predicate ? predicate(event) : true;
      } catch (err) {
        cleanup();
        reject(VirError.from(err, ErrorDomain.QEMU));
        return;
      }
      if (!accepted) return;
      cleanup();
      resolve(event);
    };
    const onClosed = (err: VirError): void => {
      cleanup();
      reject(err);
    };
    const onAbort = (): void => {
      cleanup();
      reject(cancelled());
    };

    source.on('event', onEvent);
    source.on('closed', onClosed);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0) {
      timer = setTimeout(() => {
        cleanup();
        reject(monitorTimeoutError(`QEMU event '${name}' did not arrive`, timeoutMs));
      }, timeoutMs);
    }
  });
}
