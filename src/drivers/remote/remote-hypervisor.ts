/**
 * The remote driver's hypervisor table: every slot is one RPC, typed by the procedure table
 * (`this.rpc.call(P.DOMAIN_SAVE, { dom, to })` only compiles with the right argument shape).
 * Argument checks already ran in the caller's public layer; the daemon runs them again.
 */
import type { HypervisorDriver } from '../driver-table';
import type {
  DomainEventCallback,
  DomainInfo,
  DomainRef,
  DomainStateInfo,
  JobInfo,
  JobStats,
  NodeInfo,
} from '../types';
import { moduleLogger } from '../../util/logger';
import type { TypedParameter } from '../../util/typed-params';
import { decodeArgs } from '../../remote/protocol/procedure';
import { REMOTE_PROCEDURES as P } from '../../remote/protocol/table';
import type { RpcClient } from './rpc-client';

const log = moduleLogger('remote-driver');

/** DomainRef fields only: a caller's object may carry more than the wire struct has. */
const ref = (d: DomainRef): DomainRef => ({ name: d.name, uuid: d.uuid, id: d.id });
const num = (v: bigint): number => Number(v);

/** A hypervisor connection served by a daemon over RPC. */
export class RemoteHypervisor implements HypervisorDriver {
  readonly name = 'remote';
  private readonly callbacks = new Map<number, DomainEventCallback>();

  /**
   * @param rpc the open, handshaken RPC connection
   * @param uri the URI the caller opened (what getURI reports, as libvirt's library does)
   */
  constructor(
    private readonly rpc: RpcClient,
    private readonly uri: string,
  ) {
    rpc.onMessage((proc, body) => this.onEvent(proc, body));
  }

  private onEvent(proc: number, body: Buffer): void {
    if (proc !== P.DOMAIN_EVENT_CALLBACK_LIFECYCLE.number) return;
    try {
      const m = decodeArgs(P.DOMAIN_EVENT_CALLBACK_LIFECYCLE, body);
      this.callbacks.get(m.callbackID)?.({ domain: m.msg.dom, event: m.msg.event, detail: m.msg.detail });
    } catch (err) {
      log.warn({ err }, 'malformed lifecycle event ignored');
    }
  }

  async connectClose(): Promise<void> {
    try {
      if (!this.rpc.closed) await this.rpc.call(P.CONNECT_CLOSE, undefined);
    } finally {
      await this.rpc.close();
    }
  }
  async connectGetType(): Promise<string> {
    return (await this.rpc.call(P.CONNECT_GET_TYPE, undefined)).type;
  }
  async connectGetVersion(): Promise<number> {
    return num((await this.rpc.call(P.CONNECT_GET_VERSION, undefined)).hv_ver);
  }
  async connectGetHostname(): Promise<string> {
    return (await this.rpc.call(P.CONNECT_GET_HOSTNAME, undefined)).hostname;
  }
  async connectGetURI(): Promise<string> {
    return this.uri;
  }
  async nodeGetInfo(): Promise<NodeInfo> {
    const r = await this.rpc.call(P.NODE_GET_INFO, undefined);
    return { ...r, memory: num(r.memory) };
  }
  async connectListAllDomains(flags: number): Promise<DomainRef[]> {
    return (await this.rpc.call(P.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags })).domains;
  }

  async domainLookupByName(name: string): Promise<DomainRef> {
    return (await this.rpc.call(P.DOMAIN_LOOKUP_BY_NAME, { name })).dom;
  }
  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    return (await this.rpc.call(P.DOMAIN_LOOKUP_BY_UUID, { uuid })).dom;
  }
  async domainLookupByID(id: number): Promise<DomainRef> {
    return (await this.rpc.call(P.DOMAIN_LOOKUP_BY_ID, { id })).dom;
  }

  async domainDefineXML(xml: string, flags: number): Promise<DomainRef> {
    return (await this.rpc.call(P.DOMAIN_DEFINE_XML_FLAGS, { xml, flags })).dom;
  }
  async domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    return (await this.rpc.call(P.DOMAIN_CREATE_XML, { xml_desc: xml, flags })).dom;
  }
  async domainUndefine(dom: DomainRef, flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_UNDEFINE_FLAGS, { dom: ref(dom), flags });
  }
  async domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    return (await this.rpc.call(P.DOMAIN_CREATE_WITH_FLAGS, { dom: ref(dom), flags })).dom;
  }
  async domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    // Plain destroy where no flag is set, so daemons predating DESTROY_FLAGS still serve it.
    if (flags === 0) await this.rpc.call(P.DOMAIN_DESTROY, { dom: ref(dom) });
    else await this.rpc.call(P.DOMAIN_DESTROY_FLAGS, { dom: ref(dom), flags });
  }
  async domainSuspend(dom: DomainRef): Promise<void> {
    await this.rpc.call(P.DOMAIN_SUSPEND, { dom: ref(dom) });
  }
  async domainResume(dom: DomainRef): Promise<void> {
    await this.rpc.call(P.DOMAIN_RESUME, { dom: ref(dom) });
  }
  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    const r = await this.rpc.call(P.DOMAIN_GET_INFO, { dom: ref(dom) });
    return { state: r.state, maxMem: num(r.maxMem), memory: num(r.memory), nrVirtCpu: r.nrVirtCpu, cpuTime: r.cpuTime };
  }
  async domainGetState(dom: DomainRef, flags: number): Promise<DomainStateInfo> {
    return this.rpc.call(P.DOMAIN_GET_STATE, { dom: ref(dom), flags });
  }
  async domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    return (await this.rpc.call(P.DOMAIN_GET_XML_DESC, { dom: ref(dom), flags })).xml;
  }
  async domainIsActive(dom: DomainRef): Promise<boolean> {
    return (await this.rpc.call(P.DOMAIN_IS_ACTIVE, { dom: ref(dom) })).active !== 0;
  }
  async domainIsPersistent(dom: DomainRef): Promise<boolean> {
    return (await this.rpc.call(P.DOMAIN_IS_PERSISTENT, { dom: ref(dom) })).persistent !== 0;
  }

  async domainSave(dom: DomainRef, to: string): Promise<void> {
    await this.rpc.call(P.DOMAIN_SAVE, { dom: ref(dom), to });
  }
  async domainSaveFlags(dom: DomainRef, to: string, dxml: string | null, flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_SAVE_FLAGS, { dom: ref(dom), to, dxml, flags });
  }
  async domainSaveParams(dom: DomainRef, params: TypedParameter[], flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_SAVE_PARAMS, { dom: ref(dom), params, flags });
  }
  async domainRestore(from: string): Promise<void> {
    await this.rpc.call(P.DOMAIN_RESTORE, { from });
  }
  async domainRestoreFlags(from: string, dxml: string | null, flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_RESTORE_FLAGS, { from, dxml, flags });
  }
  async domainRestoreParams(params: TypedParameter[], flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_RESTORE_PARAMS, { params, flags });
  }
  async domainSaveImageGetXMLDesc(file: string, flags: number): Promise<string> {
    return (await this.rpc.call(P.DOMAIN_SAVE_IMAGE_GET_XML_DESC, { file, flags })).xml;
  }
  async domainSaveImageDefineXML(file: string, dxml: string, flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_SAVE_IMAGE_DEFINE_XML, { file, dxml, flags });
  }
  async domainManagedSave(dom: DomainRef, flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_MANAGED_SAVE, { dom: ref(dom), flags });
  }
  async domainHasManagedSaveImage(dom: DomainRef, flags: number): Promise<boolean> {
    return (await this.rpc.call(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE, { dom: ref(dom), flags })).result !== 0;
  }
  async domainManagedSaveRemove(dom: DomainRef, flags: number): Promise<void> {
    await this.rpc.call(P.DOMAIN_MANAGED_SAVE_REMOVE, { dom: ref(dom), flags });
  }

  async domainGetJobInfo(dom: DomainRef): Promise<JobInfo> {
    const r = await this.rpc.call(P.DOMAIN_GET_JOB_INFO, { dom: ref(dom) });
    return {
      type: r.type,
      timeElapsed: num(r.timeElapsed),
      timeRemaining: num(r.timeRemaining),
      dataTotal: num(r.dataTotal),
      dataProcessed: num(r.dataProcessed),
      dataRemaining: num(r.dataRemaining),
      memTotal: num(r.memTotal),
      memProcessed: num(r.memProcessed),
      memRemaining: num(r.memRemaining),
      fileTotal: num(r.fileTotal),
      fileProcessed: num(r.fileProcessed),
      fileRemaining: num(r.fileRemaining),
    };
  }
  async domainGetJobStats(dom: DomainRef, flags: number): Promise<JobStats> {
    return this.rpc.call(P.DOMAIN_GET_JOB_STATS, { dom: ref(dom), flags });
  }
  async domainAbortJob(dom: DomainRef, flags: number): Promise<void> {
    if (flags === 0) await this.rpc.call(P.DOMAIN_ABORT_JOB, { dom: ref(dom) });
    else await this.rpc.call(P.DOMAIN_ABORT_JOB_FLAGS, { dom: ref(dom), flags });
  }

  async connectDomainEventRegister(cb: DomainEventCallback): Promise<number> {
    const { callbackID } = await this.rpc.call(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, { eventID: 0, dom: null });
    this.callbacks.set(callbackID, cb);
    return callbackID;
  }
  async connectDomainEventDeregister(callbackId: number): Promise<void> {
    await this.rpc.call(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, { callbackID: callbackId });
    this.callbacks.delete(callbackId);
  }
}
