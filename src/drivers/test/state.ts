/**
 * The test driver's in-process state: domains, node info, jobs and events. `test:///default`
 * shares one state among all its open connections (refcounted, as libvirt's test driver does);
 * a file fixture gets a private state per open.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneDomainDef, type DomainDef } from '../../conf/domain-xml';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { DomainEventHub } from '../common/event-hub';
import { DomainJobs } from '../common/domain-job';
import { DomainEventType, DomainState, ShutoffReason, type DomainRef, type NodeInfo } from '../types';

/** One domain of the test driver. */
export interface TestDomain {
  def: DomainDef;
  /** Definition to apply when a running persistent domain stops (define while running). */
  nextDef?: DomainDef;
  persistent: boolean;
  state: DomainState;
  reason: number;
  /** Runtime id, -1 when shut off. */
  id: number;
}

let privateCounter = 0;

/** Domains and services of one test "hypervisor". */
export class TestState {
  readonly domains: TestDomain[] = [];
  readonly jobs = new DomainJobs(ErrorDomain.TEST);
  readonly events = new DomainEventHub(ErrorDomain.TEST);
  /** Where managed save images live. */
  readonly managedSaveDir: string;
  private nextId = 1;
  /** Open connections using this state. */
  refs = 0;

  /** @param shared true for the process-wide `test:///default` state. */
  constructor(
    readonly node: NodeInfo,
    shared: boolean,
  ) {
    const base = `tsvirt-test-${process.pid}`;
    this.managedSaveDir = join(tmpdir(), shared ? base : `${base}-${++privateCounter}`);
  }

  /** The DomainRef callers see. */
  ref(d: TestDomain): DomainRef {
    return { name: d.def.name, uuid: d.def.uuid, id: d.id };
  }

  /** True when the domain runs (any state but shut off). */
  isActive(d: TestDomain): boolean {
    return d.state !== DomainState.SHUTOFF;
  }

  private notFound(detail: string): VirError {
    return VirError.report(ErrorCode.NO_DOMAIN, ErrorDomain.TEST, detail);
  }

  /** Lookup by name; NO_DOMAIN "no domain with matching name 'X'". */
  byName(name: string): TestDomain {
    const d = this.domains.find((x) => x.def.name === name);
    if (!d) throw this.notFound(`no domain with matching name '${name}'`);
    return d;
  }

  /** Lookup by UUID; NO_DOMAIN "no domain with matching uuid 'U'". */
  byUuid(uuid: string): TestDomain {
    const d = this.domains.find((x) => x.def.uuid === uuid.toLowerCase());
    if (!d) throw this.notFound(`no domain with matching uuid '${uuid}'`);
    return d;
  }

  /** Lookup of a running domain by id. */
  byId(id: number): TestDomain {
    const d = this.domains.find((x) => x.id === id && this.isActive(x));
    if (!d) throw this.notFound(`no domain with matching id ${id}`);
    return d;
  }

  /** Resolves a handle (by UUID, as libvirt's testDomObjFromDomain does). */
  resolve(dom: DomainRef): TestDomain {
    const d = this.domains.find((x) => x.def.uuid === dom.uuid);
    if (!d) throw this.notFound(`no domain with matching uuid '${dom.uuid}' (${dom.name})`);
    return d;
  }

  /** Finds a domain by name or UUID without raising. */
  find(name: string, uuid: string): TestDomain | undefined {
    return this.domains.find((x) => x.def.uuid === uuid) ?? this.domains.find((x) => x.def.name === name);
  }

  /**
   * Adds a definition or checks it against an existing domain, with libvirt's
   * virDomainObjListAdd rules: same name with another UUID, or same UUID with another name,
   * is OPERATION_FAILED.
   */
  addOrMatch(def: DomainDef): { dom: TestDomain; added: boolean } {
    const sameUuid = this.domains.find((x) => x.def.uuid === def.uuid);
    if (sameUuid) {
      if (sameUuid.def.name !== def.name) {
        throw VirError.report(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.TEST,
          `domain '${sameUuid.def.name}' is already defined with uuid ${def.uuid}`,
        );
      }
      return { dom: sameUuid, added: false };
    }
    const sameName = this.domains.find((x) => x.def.name === def.name);
    if (sameName) {
      throw VirError.report(
        ErrorCode.OPERATION_FAILED,
        ErrorDomain.TEST,
        `domain '${def.name}' already exists with uuid ${sameName.def.uuid}`,
      );
    }
    const dom: TestDomain = {
      def: cloneDomainDef(def),
      persistent: false,
      state: DomainState.SHUTOFF,
      reason: ShutoffReason.UNKNOWN,
      id: -1,
    };
    this.domains.push(dom);
    return { dom, added: true };
  }

  /** Starts a domain: new id, RUNNING (or `state`) with `reason`. */
  start(d: TestDomain, reason: number, state: DomainState = DomainState.RUNNING): void {
    d.id = this.nextId++;
    d.state = state;
    d.reason = reason;
  }

  /** Stops a domain; a transient one disappears, a pending definition takes effect. */
  stop(d: TestDomain, reason: ShutoffReason): void {
    d.state = DomainState.SHUTOFF;
    d.reason = reason;
    d.id = -1;
    if (d.nextDef) {
      d.def = d.nextDef;
      d.nextDef = undefined;
    }
    if (!d.persistent) this.remove(d);
  }

  /** Forgets a domain. */
  remove(d: TestDomain): void {
    const i = this.domains.indexOf(d);
    if (i >= 0) this.domains.splice(i, 1);
  }

  /** Queues a lifecycle event for `d`. */
  emit(d: TestDomain, event: DomainEventType, detail: number): void {
    this.events.emit({ domain: this.ref(d), event, detail });
  }

  /** The managed save image path of a domain. */
  managedSavePath(d: TestDomain): string {
    return join(this.managedSaveDir, `${d.def.name}.save`);
  }

  /** Frees what the state holds on disk (managed save images). */
  async dispose(): Promise<void> {
    await rm(this.managedSaveDir, { recursive: true, force: true });
  }
}
