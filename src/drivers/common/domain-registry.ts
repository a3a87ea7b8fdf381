/**
 * The domain list every stateful driver keeps (libvirt's virDomainObjList): lookups by name,
 * UUID and id with libvirt's NO_DOMAIN messages, libvirt's add-or-match rules for definitions,
 * runtime ids, and the driver's job and event services. Drivers extend it with their own state.
 */
import { cloneDomainDef, type DomainDef } from '../../conf/domain-xml';
import { ErrorCode, type ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { ListAllDomainsFlags } from './domain-flags';
import { DomainJobs } from './domain-job';
import { DomainEventHub } from './event-hub';
import { DomainState, ShutoffReason, type DomainEventType, type DomainRef } from '../types';

/** What every driver tracks about a domain. */
export interface DomainObj {
  /** The running definition when active, else the persistent one. */
  def: DomainDef;
  /** The persistent definition to apply when a running domain stops (define while running). */
  nextDef?: DomainDef;
  persistent: boolean;
  state: DomainState;
  reason: number;
  /** Runtime id, -1 when inactive. */
  id: number;
  /** Started when the driver starts in a fresh boot (virDomainSetAutostart). */
  autostart?: boolean;
}

/** Domains, ids, jobs and events of one driver instance. */
export class DomainRegistry<T extends DomainObj> {
  readonly domains: T[] = [];
  readonly jobs: DomainJobs;
  readonly events: DomainEventHub;
  private nextId = 1;

  /** @param errorDomain the driver's error domain (QEMU, TEST, ...) for every error raised here. */
  constructor(protected readonly errorDomain: ErrorDomain) {
    this.jobs = new DomainJobs(errorDomain);
    this.events = new DomainEventHub(errorDomain);
  }

  /** The DomainRef callers see. */
  ref(d: T): DomainRef {
    return { name: d.def.name, uuid: d.def.uuid, id: d.id };
  }

  /** True when the domain runs (any state but shut off). */
  isActive(d: T): boolean {
    return d.state !== DomainState.SHUTOFF;
  }

  private notFound(detail: string): VirError {
    return VirError.report(ErrorCode.NO_DOMAIN, this.errorDomain, detail);
  }

  /** Lookup by name; NO_DOMAIN "no domain with matching name 'X'". */
  byName(name: string): T {
    const d = this.domains.find((x) => x.def.name === name);
    if (!d) throw this.notFound(`no domain with matching name '${name}'`);
    return d;
  }

  /** Lookup by UUID; NO_DOMAIN "no domain with matching uuid 'U'". */
  byUuid(uuid: string): T {
    const d = this.domains.find((x) => x.def.uuid === uuid.toLowerCase());
    if (!d) throw this.notFound(`no domain with matching uuid '${uuid}'`);
    return d;
  }

  /** Lookup of an active domain by id. */
  byId(id: number): T {
    const d = this.domains.find((x) => x.id === id && this.isActive(x));
    if (!d) throw this.notFound(`no domain with matching id ${id}`);
    return d;
  }

  /** Resolves a handle by UUID, as libvirt's drivers do (names and ids may change). */
  resolve(dom: DomainRef): T {
    const d = this.domains.find((x) => x.def.uuid === dom.uuid);
    if (!d) throw this.notFound(`no domain with matching uuid '${dom.uuid}' (${dom.name})`);
    return d;
  }

  /** Finds a domain by UUID, else by name, without raising. */
  find(name: string, uuid: string): T | undefined {
    return this.domains.find((x) => x.def.uuid === uuid) ?? this.domains.find((x) => x.def.name === name);
  }

  /**
   * Adds a definition or matches it to an existing domain with libvirt's virDomainObjListAdd
   * rules: same UUID with another name, or same name with another UUID, is OPERATION_FAILED.
   */
  addOrMatch(def: DomainDef): { dom: T; added: boolean } {
    const sameUuid = this.domains.find((x) => x.def.uuid === def.uuid);
    if (sameUuid) {
      if (sameUuid.def.name !== def.name) {
        throw VirError.report(ErrorCode.OPERATION_FAILED, this.errorDomain, `domain '${sameUuid.def.name}' is already defined with uuid ${def.uuid}`);
      }
      return { dom: sameUuid, added: false };
    }
    const sameName = this.domains.find((x) => x.def.name === def.name);
    if (sameName) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, this.errorDomain, `domain '${def.name}' already exists with uuid ${sameName.def.uuid}`);
    }
    // Driver-specific fields of T are all optional: a new domain starts with none of them.
    const dom = { def: cloneDomainDef(def), persistent: false, state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN, id: -1 } as T;
    this.domains.push(dom);
    return { dom, added: true };
  }

  /** Forgets a domain. */
  remove(d: T): void {
    const i = this.domains.indexOf(d);
    if (i >= 0) this.domains.splice(i, 1);
  }

  /**
   * Records that a domain stopped: shut off with `reason`, no id, a pending definition applied,
   * and a transient domain forgotten.
   */
  shutoff(d: T, reason: number): void {
    d.state = DomainState.SHUTOFF;
    d.reason = reason;
    d.id = -1;
    if (d.nextDef) {
      d.def = d.nextDef;
      d.nextDef = undefined;
    }
    if (!d.persistent) this.remove(d);
  }

  /** A fresh runtime id (ids already seen are never reused). */
  allocateId(): number {
    return this.nextId++;
  }

  /** Notes an id in use (e.g. by a guest found running at start-up). */
  noteId(id: number): void {
    if (id >= this.nextId) this.nextId = id + 1;
  }

  /**
   * virConnectListAllDomains: the domains matching every filter group set in `flags`
   * (active/inactive, persistent/transient, state, managed save, autostart).
   */
  async list(
    flags: number,
    hasManagedSave: (d: T) => boolean | Promise<boolean>,
    autostart: (d: T) => boolean = (d) => d.autostart === true,
  ): Promise<DomainRef[]> {
    const L = ListAllDomainsFlags;
    const out: DomainRef[] = [];
    for (const d of this.domains) {
      const active = this.isActive(d);
      if (flags & (L.ACTIVE | L.INACTIVE) && !(flags & (active ? L.ACTIVE : L.INACTIVE))) continue;
      if (flags & (L.PERSISTENT | L.TRANSIENT) && !(flags & (d.persistent ? L.PERSISTENT : L.TRANSIENT))) continue;
      const stateBit =
        d.state === DomainState.RUNNING ? L.RUNNING : d.state === DomainState.PAUSED ? L.PAUSED : d.state === DomainState.SHUTOFF ? L.SHUTOFF : L.OTHER;
      if (flags & (L.RUNNING | L.PAUSED | L.SHUTOFF | L.OTHER) && !(flags & stateBit)) continue;
      if (flags & (L.MANAGEDSAVE | L.NO_MANAGEDSAVE) && !(flags & ((await hasManagedSave(d)) ? L.MANAGEDSAVE : L.NO_MANAGEDSAVE))) continue;
      if (flags & (L.AUTOSTART | L.NO_AUTOSTART) && !(flags & (autostart(d) ? L.AUTOSTART : L.NO_AUTOSTART))) continue;
      out.push(this.ref(d));
    }
    return out;
  }

  /** Queues a lifecycle event for `d`. */
  emit(d: T, event: DomainEventType, detail: number): void {
    this.events.emit({ domain: this.ref(d), event, detail });
  }
}
