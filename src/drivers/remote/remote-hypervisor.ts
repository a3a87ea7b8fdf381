/**
 * The remote driver's hypervisor table. Most slots are generated from the procedure table
 * (generated-stubs.ts); written here are only the few that are more than one call: closing,
 * the URI the caller opened, listing (the `need_results` protocol), and event callbacks.
 * Argument checks already ran in the caller's public layer; the daemon runs them again.
 */
import type { HypervisorDriver } from '../driver-table';
import type { DomainEventCallback, DomainRef, StoragePoolRef } from '../types';
import { moduleLogger } from '../../util/logger';
import { decodeArgs } from '../../remote/protocol/procedure';
import { REMOTE_PROCEDURES as P } from '../../remote/protocol/table';
import { installGeneratedSlots } from './generated-stubs';
import type { RpcClient } from './rpc-client';

const log = moduleLogger('remote-driver');

/** The generated slots are on the prototype; to the compiler they are the optional slots. */
export interface RemoteHypervisor extends HypervisorDriver {}

/** A hypervisor connection served by a daemon over RPC. */
export class RemoteHypervisor implements HypervisorDriver {
  readonly name = 'remote';
  private readonly callbacks = new Map<number, DomainEventCallback>();

  /**
   * @param rpc the open, handshaken RPC connection
   * @param uri the URI the caller opened (what getURI reports, as libvirt's library does)
   */
  constructor(
    readonly rpc: RpcClient,
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
  async connectGetURI(): Promise<string> {
    return this.uri;
  }
  async connectListAllDomains(flags: number): Promise<DomainRef[]> {
    return (await this.rpc.call(P.CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags })).domains;
  }

  async connectListAllStoragePools(flags: number): Promise<StoragePoolRef[]> {
    return (await this.rpc.call(P.CONNECT_LIST_ALL_STORAGE_POOLS, { need_results: 1, flags })).pools;
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

installGeneratedSlots(RemoteHypervisor.prototype);
