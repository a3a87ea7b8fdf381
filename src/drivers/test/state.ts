/**
 * The test driver's in-process state: domains, node info, jobs and events. `test:///default`
 * shares one state among all its open connections (refcounted, as libvirt's test driver does);
 * a file fixture gets a private state per open.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorDomain } from '../../util/error-codes';
import { DomainRegistry, type DomainObj } from '../common/domain-registry';
import { DomainState, ShutoffReason, type NodeInfo } from '../types';

/** One domain of the test driver: nothing beyond what every driver tracks. */
export type TestDomain = DomainObj;

let privateCounter = 0;

/** Domains and services of one test "hypervisor". */
export class TestState extends DomainRegistry<TestDomain> {
  /** Where managed save images live. */
  readonly managedSaveDir: string;
  /** Open connections using this state. */
  refs = 0;

  /** @param shared true for the process-wide `test:///default` state. */
  constructor(
    readonly node: NodeInfo,
    shared: boolean,
  ) {
    super(ErrorDomain.TEST);
    const base = `tsvirt-test-${process.pid}`;
    this.managedSaveDir = join(tmpdir(), shared ? base : `${base}-${++privateCounter}`);
  }

  /** Starts a domain: new id, RUNNING (or `state`) with `reason`. */
  start(d: TestDomain, reason: number, state: DomainState = DomainState.RUNNING): void {
    d.id = this.allocateId();
    d.state = state;
    d.reason = reason;
  }

  /** Stops a domain; a transient one disappears, a pending definition takes effect. */
  stop(d: TestDomain, reason: ShutoffReason): void {
    this.shutoff(d, reason);
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
