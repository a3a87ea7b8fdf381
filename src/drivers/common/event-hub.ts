/**
 * Lifecycle event fan-out for one driver state. Events are delivered asynchronously (after the
 * emitting call returns) and a throwing callback never reaches the driver.
 */
import { ErrorCode, type ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import type { DomainEventCallback, DomainLifecycleEvent } from '../types';

const logger = moduleLogger('event-hub');

/** Registered lifecycle callbacks of one driver state. */
export class DomainEventHub {
  private readonly callbacks = new Map<number, DomainEventCallback>();
  private nextId = 1;

  /** @param errorDomain the driver's error domain for deregistration errors. */
  constructor(private readonly errorDomain: ErrorDomain) {}

  /** Registers a callback; returns its id. */
  register(cb: DomainEventCallback): number {
    const id = this.nextId++;
    this.callbacks.set(id, cb);
    return id;
  }

  /** Removes a callback; an unknown id is INVALID_ARG as in libvirt. */
  deregister(id: number): void {
    if (!this.callbacks.delete(id)) {
      throw VirError.report(ErrorCode.INVALID_ARG, this.errorDomain, `could not find event callback ${id} for deletion`);
    }
  }

  /** Number of registered callbacks. */
  get size(): number {
    return this.callbacks.size;
  }

  /** Queues an event for every callback registered now. */
  emit(ev: DomainLifecycleEvent): void {
    const targets = [...this.callbacks.values()];
    if (targets.length === 0) return;
    const frozen: DomainLifecycleEvent = { ...ev, domain: { ...ev.domain } };
    setImmediate(() => {
      for (const cb of targets) {
        try {
          cb(frozen);
        } catch (err) {
          logger.warn({ err }, 'domain event callback threw');
        }
      }
    });
  }
}
