/**
 * The remote driver's hypervisor table. Most slots are generated from the procedure table
 * (generated-stubs.ts); written here are only the few that are more than one call: closing,
 * the URI the caller opened, listing (the `need_results` protocol), and event callbacks.
 * Argument checks already ran in the caller's public layer; the daemon runs them again.
 */
import type { HypervisorDriver } from '../driver-table';
import type { DomainEvent, DomainEventCallback, DomainEventId, DomainRef, StoragePoolRef } from '../types';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { decodeArgs } from '../../remote/protocol/procedure';
import { eventCodecByProcedure } from '../../remote/protocol/procedures-events';
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
    const codec = eventCodecByProcedure(proc);
    if (!codec) return;
    try {
      const { callbackID, event } = codec.fromWire(decodeArgs(codec.proc, body));
      // The wire's event is the driver layer's DomainEvent of the same id, field for field.
      this.callbacks.get(callbackID)?.(event as DomainEvent);
    } catch (err) {
      log.warn({ err, proc }, 'malformed event message ignored');
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

  async connectDomainEventRegisterAny(eventId: DomainEventId, dom: DomainRef | null, cb: DomainEventCallback): Promise<number> {
    const filter = dom ? { name: dom.name, uuid: dom.uuid, id: dom.id } : null;
    const { callbackID } = await this.rpc.call(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, { eventID: eventId, dom: filter });
    this.callbacks.set(callbackID, cb);
    return callbackID;
  }
  async connectDomainEventDeregisterAny(callbackId: number): Promise<void> {
    // As libvirt's client: an id this connection never got is refused before the daemon is asked.
    if (!this.callbacks.has(callbackId)) {
      throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, `could not find event callback ${callbackId} for deletion`);
    }
    await this.rpc.call(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, { callbackID: callbackId });
    this.callbacks.delete(callbackId);
  }
}

installGeneratedSlots(RemoteHypervisor.prototype);
