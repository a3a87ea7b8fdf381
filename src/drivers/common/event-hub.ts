/**
 * Domain event fan-out for one driver state. Each callback is registered for one event id and,
 * optionally, one domain. Events are delivered asynchronously (after the emitting call returns)
 * and a throwing callback never reaches the driver.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { DOMAIN_EVENT_ID_LAST, DomainEventId, type DomainEvent, type DomainEventCallback, type DomainLifecycleEvent, type DomainRef } from '../types';

const logger = moduleLogger('event-hub');

interface Registration {
  readonly eventId: DomainEventId;
  /** UUID of the one domain the callback wants, or undefined for all. */
  readonly uuid?: string;
  readonly cb: DomainEventCallback;
}

/**
 * Checks an event id as virConnectDomainEventRegisterAny does: ids libvirt does not know are
 * INVALID_ARG; known ids are accepted even when no driver raises them (virsh `event --all`
 * registers every one).
 */
export function checkEventId(eventId: number, fn = 'virConnectDomainEventRegisterAny'): DomainEventId {
  if (!Number.isInteger(eventId) || eventId < 0 || eventId >= DOMAIN_EVENT_ID_LAST) {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `eventID in ${fn} must be less than ${DOMAIN_EVENT_ID_LAST}`);
  }
  return eventId as DomainEventId;
}

/** Registered event callbacks of one driver state. */
export class DomainEventHub {
  private readonly callbacks = new Map<number, Registration>();
  private nextId = 1;

  /** @param errorDomain the driver's error domain for deregistration errors. */
  constructor(private readonly errorDomain: ErrorDomain) {}

  /** Registers `cb` for events `eventId` (of domain `dom` only, when given); returns its id. */
  register(eventId: DomainEventId, dom: DomainRef | null, cb: DomainEventCallback): number {
    const id = this.nextId++;
    this.callbacks.set(id, { eventId: checkEventId(eventId), uuid: dom?.uuid, cb });
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

  /** Queues a lifecycle event. */
  emit(ev: DomainLifecycleEvent): void {
    this.raise({ eventId: DomainEventId.LIFECYCLE, ...ev });
  }

  /** Queues an event of any kind for every matching callback registered now. */
  raise(ev: DomainEvent): void {
    const targets = [...this.callbacks.values()].filter((r) => r.eventId === ev.eventId && (r.uuid === undefined || r.uuid === ev.domain.uuid));
    if (targets.length === 0) return;
    const frozen = Object.freeze({ ...ev, domain: { ...ev.domain } }) as DomainEvent;
    setImmediate(() => {
      for (const r of targets) {
        try {
          r.cb(frozen);
        } catch (err) {
          logger.warn({ err }, 'domain event callback threw');
        }
      }
    });
  }
}
