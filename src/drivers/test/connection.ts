/**
 * One open test driver connection: the full driver table over a (possibly shared) TestState.
 */
import { formatCapabilitiesXML } from '../../conf/capabilities-xml';
import * as power from './power';
import { hostname } from 'node:os';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { TypedParamType, type TypedParameter } from '../../util/typed-params';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { CreateFlags } from '../common/domain-flags';
import { VIR_DOMAIN_JOB_STATS_COMPLETED, VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED } from '../common/domain-job';
import {
  VIR_DOMAIN_SAVE_BYPASS_CACHE,
  VIR_DOMAIN_SAVE_PARALLEL,
  VIR_DOMAIN_SAVE_PAUSED,
  VIR_DOMAIN_SAVE_RESET_NVRAM,
  VIR_DOMAIN_SAVE_RUNNING,
} from '../common/save-flags';
import { resolveSaveOptions } from '../common/save-options';
import type { HypervisorDriver } from '../driver-table';
import type {
  DomainEventCallback,
  DomainEventId,
  DomainInfo,
  DomainRef,
  DomainStateInfo,
  JobInfo,
  JobStats,
  NodeInfo,
  SecurityLabel,
  SecurityModel,
} from '../types';
import * as life from './lifecycle';
import { createDomain, hasManagedSave, managedSave, managedSaveDefineXML, managedSaveGetXMLDesc, managedSaveRemove } from './managed-save';
import { restoreImage, saveImageDefineXML, saveImageGetXMLDesc } from './restore';
import { performSave, type TestContext } from './save';
import type { TestState } from './state';

const SAVE_FLAGS = VIR_DOMAIN_SAVE_BYPASS_CACHE | VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED | VIR_DOMAIN_SAVE_PARALLEL;
const RESTORE_FLAGS = SAVE_FLAGS | VIR_DOMAIN_SAVE_RESET_NVRAM;

function str(field: string, value: string): TypedParameter {
  return { field, type: TypedParamType.STRING, value };
}

/** The test driver table of one connection. */
export class TestConnection implements HypervisorDriver {
  readonly name = 'TEST';
  private readonly ctx: TestContext;
  private readonly callbackIds = new Set<number>();
  private closed = false;
  /** Domains started with START_AUTODESTROY, by UUID, with the runtime id they got. */
  private readonly autoDestroy = new Map<string, number>();

  /**
   * @param state the state this connection works on
   * @param uri the canonical URI (virConnectGetURI)
   * @param chunkDelayMs URI `chunk_delay_ms`
   * @param release called once on close (drops the state reference)
   */
  constructor(
    readonly state: TestState,
    private readonly uri: string,
    chunkDelayMs: number,
    private readonly release: () => Promise<void>,
  ) {
    this.ctx = { state, chunkDelayMs };
  }

  /**
   * virConnectClose: destroys the domains this connection started with START_AUTODESTROY, drops
   * its event callbacks and its state reference.
   */
  async connectClose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.destroyAutoDestroyed();
    for (const id of this.callbackIds) this.state.events.deregister(id);
    this.callbackIds.clear();
    await this.release();
  }

  /** virConnectGetType. */
  async connectGetType(): Promise<string> {
    return 'TEST';
  }

  /** virConnectGetVersion: libvirt's test driver reports 0.0.2. */
  async connectGetVersion(): Promise<number> {
    return 2;
  }

  /** virConnectGetHostname. */
  async connectGetHostname(): Promise<string> {
    return hostname();
  }

  /** virConnectGetURI. */
  async connectGetURI(): Promise<string> {
    return this.uri;
  }

  /** virNodeGetInfo. */
  async nodeGetInfo(): Promise<NodeInfo> {
    return { ...this.state.node };
  }

  /** virConnectGetCapabilities: the fixture's node as host, one i686/x86_64 "test" guest each. */
  async connectGetCapabilities(): Promise<string> {
    const n = this.state.node;
    const guest = (arch: string, wordsize: number) => ({ osType: 'hvm', arch, wordsize, machines: [], domainTypes: ['test'] });
    return formatCapabilitiesXML({ arch: 'i686', cpus: n.cpus, memoryKiB: n.memory }, [guest('i686', 32), guest('x86_64', 64)]);
  }

  /** virConnectListAllDomains. */
  async connectListAllDomains(flags: number): Promise<DomainRef[]> {
    return life.listAll(this.state, flags);
  }

  /** virDomainLookupByName. */
  async domainLookupByName(name: string): Promise<DomainRef> {
    return this.state.ref(this.state.byName(name));
  }

  /** virDomainLookupByUUID. */
  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    return this.state.ref(this.state.byUuid(uuid));
  }

  /** virDomainLookupByID. */
  async domainLookupByID(id: number): Promise<DomainRef> {
    return this.state.ref(this.state.byId(id));
  }

  /** virDomainDefineXMLFlags. */
  async domainDefineXML(xml: string, flags: number): Promise<DomainRef> {
    return life.defineXML(this.state, xml, flags);
  }

  /** virDomainCreateXML (START_AUTODESTROY: destroyed when this connection closes). */
  async domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    return this.noteAutoDestroy(life.createXML(this.state, xml, flags), flags);
  }

  /** virDomainUndefineFlags. */
  async domainUndefine(dom: DomainRef, flags: number): Promise<void> {
    return life.undefine(this.state, dom, flags);
  }

  /** virDomainCreateWithFlags (restores a managed save image when present). */
  async domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    return this.noteAutoDestroy(await createDomain(this.ctx, dom, flags), flags);
  }

  private noteAutoDestroy(ref: DomainRef, flags: number): DomainRef {
    if (flags & CreateFlags.START_AUTODESTROY) this.autoDestroy.set(ref.uuid, ref.id);
    return ref;
  }

  /**
   * Destroys what this connection started with START_AUTODESTROY, unless it stopped meanwhile
   * (a new runtime id means someone started it again: that run is not ours to end).
   */
  private destroyAutoDestroyed(): void {
    for (const [uuid, id] of this.autoDestroy) {
      const d = this.state.domains.find((x) => x.def.uuid === uuid);
      if (d && this.state.isActive(d) && d.id === id) life.destroy(this.state, this.state.ref(d), 0);
    }
    this.autoDestroy.clear();
  }

  /** virDomainDestroyFlags. */
  async domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    life.destroy(this.state, dom, flags);
  }

  /** virDomainShutdownFlags. */
  async domainShutdown(dom: DomainRef, flags: number): Promise<void> {
    power.shutdown(this.state, dom, flags);
  }

  /** virDomainReboot. */
  async domainReboot(dom: DomainRef, flags: number): Promise<void> {
    power.reboot(this.state, dom, flags);
  }

  /** virDomainReset. */
  async domainReset(dom: DomainRef, flags: number): Promise<void> {
    power.reset(this.state, dom, flags);
  }

  /** virDomainSuspend. */
  async domainSuspend(dom: DomainRef): Promise<void> {
    life.suspend(this.state, dom);
  }

  /** virDomainResume. */
  async domainResume(dom: DomainRef): Promise<void> {
    life.resume(this.state, dom);
  }

  /** virDomainGetInfo. */
  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    return life.getInfo(this.state, dom);
  }

  /** virDomainGetState. */
  async domainGetState(dom: DomainRef, flags: number): Promise<DomainStateInfo> {
    return life.getState(this.state, dom, flags);
  }

  /** virDomainGetXMLDesc. */
  async domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    return life.getXMLDesc(this.state, dom, flags);
  }

  /** virDomainIsActive. */
  async domainIsActive(dom: DomainRef): Promise<boolean> {
    return this.state.isActive(this.state.resolve(dom));
  }

  /** virDomainIsPersistent. */
  async domainIsPersistent(dom: DomainRef): Promise<boolean> {
    return this.state.resolve(dom).persistent;
  }

  /** virDomainSave. */
  async domainSave(dom: DomainRef, to: string): Promise<void> {
    return performSave(this.ctx, dom, resolveSaveOptions([str('file', to)], 0, ErrorDomain.TEST));
  }

  /** virDomainSaveFlags. */
  async domainSaveFlags(dom: DomainRef, to: string, dxml: string | null, flags: number): Promise<void> {
    checkFlags(flags, SAVE_FLAGS, 'testDomainSaveFlags', ErrorDomain.TEST);
    const params = [str('file', to), ...(dxml !== null ? [str('dxml', dxml)] : [])];
    return performSave(this.ctx, dom, resolveSaveOptions(params, flags, ErrorDomain.TEST));
  }

  /** virDomainSaveParams; no `file` means managed save. */
  async domainSaveParams(dom: DomainRef, params: TypedParameter[], flags: number): Promise<void> {
    checkFlags(flags, SAVE_FLAGS, 'testDomainSaveParams', ErrorDomain.TEST);
    return performSave(this.ctx, dom, resolveSaveOptions(params, flags, ErrorDomain.TEST));
  }

  /** virDomainRestore. */
  async domainRestore(from: string): Promise<void> {
    await restoreImage(this.ctx, from, resolveSaveOptions([], 0, ErrorDomain.TEST));
  }

  /** virDomainRestoreFlags. */
  async domainRestoreFlags(from: string, dxml: string | null, flags: number): Promise<void> {
    checkFlags(flags, RESTORE_FLAGS, 'testDomainRestoreFlags', ErrorDomain.TEST);
    const params = dxml !== null ? [str('dxml', dxml)] : [];
    await restoreImage(this.ctx, from, resolveSaveOptions(params, flags, ErrorDomain.TEST));
  }

  /** virDomainRestoreParams. */
  async domainRestoreParams(params: TypedParameter[], flags: number): Promise<void> {
    checkFlags(flags, RESTORE_FLAGS, 'testDomainRestoreParams', ErrorDomain.TEST);
    const opts = resolveSaveOptions(params, flags, ErrorDomain.TEST);
    if (opts.file === undefined) {
      throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.TEST, 'missing path to restore from');
    }
    await restoreImage(this.ctx, opts.file, opts);
  }

  /** virDomainSaveImageGetXMLDesc. */
  async domainSaveImageGetXMLDesc(file: string, flags: number): Promise<string> {
    return saveImageGetXMLDesc(file, flags);
  }

  /** virDomainSaveImageDefineXML. */
  async domainSaveImageDefineXML(file: string, dxml: string, flags: number): Promise<void> {
    return saveImageDefineXML(file, dxml, flags);
  }

  /** virDomainManagedSave. */
  async domainManagedSave(dom: DomainRef, flags: number): Promise<void> {
    return managedSave(this.ctx, dom, flags);
  }

  /** virDomainHasManagedSaveImage. */
  async domainHasManagedSaveImage(dom: DomainRef, flags: number): Promise<boolean> {
    return hasManagedSave(this.ctx, dom, flags);
  }

  /** virDomainManagedSaveRemove. */
  async domainManagedSaveRemove(dom: DomainRef, flags: number): Promise<void> {
    return managedSaveRemove(this.ctx, dom, flags);
  }

  /** virDomainManagedSaveGetXMLDesc. */
  async domainManagedSaveGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    return managedSaveGetXMLDesc(this.ctx, dom, flags);
  }

  /** virDomainManagedSaveDefineXML. */
  async domainManagedSaveDefineXML(dom: DomainRef, dxml: string, flags: number): Promise<void> {
    return managedSaveDefineXML(this.ctx, dom, dxml, flags);
  }

  /** virDomainGetJobInfo. */
  async domainGetJobInfo(dom: DomainRef): Promise<JobInfo> {
    const d = this.state.resolve(dom);
    return this.state.jobs.info(this.state.ref(d));
  }

  /** virDomainGetJobStats. */
  async domainGetJobStats(dom: DomainRef, flags: number): Promise<JobStats> {
    checkFlags(
      flags,
      VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED,
      'testDomainGetJobStats',
      ErrorDomain.TEST,
    );
    const d = this.state.resolve(dom);
    return this.state.jobs.stats(this.state.ref(d), flags);
  }

  /** virDomainAbortJobFlags. */
  async domainAbortJob(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, 0, 'testDomainAbortJobFlags', ErrorDomain.TEST);
    const d = this.state.resolve(dom);
    this.state.jobs.abort(this.state.ref(d));
  }

  /** virConnectDomainEventRegisterAny. */
  async connectDomainEventRegisterAny(eventId: DomainEventId, dom: DomainRef | null, cb: DomainEventCallback): Promise<number> {
    if (dom) this.state.resolve(dom);
    const id = this.state.events.register(eventId, dom, cb);
    this.callbackIds.add(id);
    return id;
  }

  /** virConnectDomainEventDeregisterAny: only this connection's callbacks. */
  async connectDomainEventDeregisterAny(callbackId: number): Promise<void> {
    if (!this.callbackIds.has(callbackId)) {
      throw VirError.report(
        ErrorCode.INVALID_ARG,
        ErrorDomain.TEST,
        `could not find event callback ${callbackId} for deletion`,
      );
    }
    this.state.events.deregister(callbackId);
    this.callbackIds.delete(callbackId);
  }

  /** virDomainGetAutostart. */
  async domainGetAutostart(dom: DomainRef): Promise<boolean> {
    return this.state.resolve(dom).autostart === true;
  }

  /**
   * virDomainSetAutostart: kept in memory. libvirt 9's test driver sets it on transient domains
   * too (only QEMU refuses them), and so does this one.
   */
  async domainSetAutostart(dom: DomainRef, autostart: boolean): Promise<void> {
    this.state.resolve(dom).autostart = autostart;
  }

  /** virNodeGetSecurityModel: libvirt's test driver reports a fixed "testSecurity" model. */
  async nodeGetSecurityModel(): Promise<SecurityModel> {
    return { model: 'testSecurity', doi: '' };
  }

  /** virDomainGetSecurityLabel: "libvirt-test", enforcing, while the domain runs. */
  async domainGetSecurityLabel(dom: DomainRef): Promise<SecurityLabel> {
    const d = this.state.resolve(dom);
    return this.state.isActive(d) ? { label: 'libvirt-test', enforcing: true } : { label: '', enforcing: false };
  }
}
