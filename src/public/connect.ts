/**
 * The public connection handle (libvirt's virConnectPtr) and the open loop.
 */
import '../drivers/builtin';
import { canonicalUuid as formatUuid } from '../conf/uuid';
import type { HypervisorDriver } from '../drivers/driver-table';
import { registeredDrivers } from '../drivers/registry';
import { checkEventId } from '../drivers/common/event-hub';
import { DomainEventId, type DomainEvent, type DomainRef, type NodeInfo, type SecurityModel, type StoragePoolRef } from '../drivers/types';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { moduleLogger } from '../util/logger';
import type { TypedParamsInput } from '../util/typed-params';
import { defaultUri, parseUri, type VirUri } from '../util/uri';
import { VirError } from '../util/vir-error';
import { Domain, RUNNING_PAUSED_EXCLUSIVE } from './domain';
import { dispatch, requireString, type ConnectionCore, type EntrySpec } from './entry';
import { ConnectFlags } from './flags';
import { validateParams } from './param-schemas';
import { absolutePath } from './paths';
import type { DomainRestoreParams, ParamsInput } from './param-types';

const log = moduleLogger('public');

/** The libvirt API level tsvirt implements, reported by getLibVersion (libvirt 9.0.0). */
export const LIB_VERSION = 9_000_000;

/** Options for Connect.open. */
export interface ConnectOpenOptions {
  /** Open read-only: every mutating call gets OPERATION_DENIED. */
  readOnly?: boolean;
}

/** An event as delivered to public callbacks: the driver's event with a Domain handle. */
export type DomainEventInfo<K extends DomainEventId = DomainEventId> = Extract<DomainEvent, { eventId: K }> extends never
  ? { eventId: K; domain: Domain }
  : Omit<Extract<DomainEvent, { eventId: K }>, 'domain'> & { domain: Domain };

/** A lifecycle event as delivered to public callbacks. */
export type DomainLifecycleEventInfo = DomainEventInfo<DomainEventId.LIFECYCLE>;

/** A connection to a hypervisor driver. */
export class Connect {
  readonly #core: ConnectionCore;

  private constructor(core: ConnectionCore) {
    this.#core = core;
  }

  /**
   * virConnectOpen / virConnectOpenReadOnly. With no URI, `TSVIRT_DEFAULT_URI` is used, else
   * every driver is probed. Drivers are tried in registration order, remote last; the first
   * SUCCESS wins, an error stops the loop, all declining gives NO_CONNECT.
   */
  static async open(name?: string | null, options: ConnectOpenOptions | number = {}): Promise<Connect> {
    const readOnly = typeof options === 'number' ? (options & ConnectFlags.RO) !== 0 : !!options.readOnly;
    const uriString = name ?? defaultUri();
    const uri = uriString !== undefined ? parseUri(uriString) : undefined;
    log.debug({ fn: 'virConnectOpen', uri: uriString, readOnly }, 'public call');
    for (const drv of registeredDrivers()) {
      if (uri && !accepts(drv.uriSchemes, drv.localOnly, drv.remoteOnly, uri)) continue;
      let res;
      try {
        res = await drv.open(uri, { readOnly });
      } catch (err) {
        throw VirError.from(err);
      }
      if (res.status === 'success') {
        log.debug({ driver: drv.name, uri: uriString }, 'connection opened');
        return new Connect({ driver: res.driver, readOnly, uri: uriString ?? '', closed: false });
      }
    }
    throw VirError.report(ErrorCode.NO_CONNECT, ErrorDomain.NONE, uriString ?? 'the default URI');
  }

  /** virConnectOpenReadOnly. */
  static openReadOnly(name?: string | null): Promise<Connect> {
    return Connect.open(name, { readOnly: true });
  }

  /** True for read-only connections. */
  get readOnly(): boolean {
    return this.#core.readOnly;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /** The driver table behind this connection (for the daemon, which serves it over the wire). */
  get driver(): HypervisorDriver {
    return this.#core.driver;
  }

  private spec<P>(fn: string, extra: Omit<EntrySpec<P>, 'fn'> = {}): EntrySpec<P> {
    return { fn, ...extra };
  }

  private domain = (ref: { name: string; uuid: string; id: number }): Domain => new Domain(this.#core, ref);

  /**
   * A Domain handle for a reference the caller already holds, without asking the driver
   * (libvirt's daemon does the same with the remote_nonnull_domain of each call). Calls on the
   * handle fail as usual if no such domain exists.
   */
  domainFromRef(ref: DomainRef): Domain {
    return this.domain({ name: ref.name, uuid: ref.uuid, id: ref.id });
  }

  /** virConnectClose. Further calls on this connection or its domains get INVALID_CONN. */
  async close(): Promise<void> {
    if (this.#core.closed) throw VirError.report(ErrorCode.INVALID_CONN, ErrorDomain.NONE, 'virConnectClose');
    this.#core.closed = true;
    await this.#core.driver.connectClose?.();
  }

  /** virConnectGetURI. */
  async getURI(): Promise<string> {
    return dispatch(this.#core, this.spec('virConnectGetURI'), 'connectGetURI', (f) => f());
  }

  /** virConnectGetType: "TEST", "QEMU", ... */
  async getType(): Promise<string> {
    return dispatch(this.#core, this.spec('virConnectGetType'), 'connectGetType', (f) => f());
  }

  /** virConnectGetVersion: the hypervisor's version number. */
  async getVersion(): Promise<number> {
    return dispatch(this.#core, this.spec('virConnectGetVersion'), 'connectGetVersion', (f) => f());
  }

  /** virConnectGetLibVersion: the libvirt API level of this library. */
  async getLibVersion(): Promise<number> {
    if (this.#core.closed) throw VirError.report(ErrorCode.INVALID_CONN, ErrorDomain.NONE, 'virConnectGetLibVersion');
    return LIB_VERSION;
  }

  /** virConnectGetHostname. */
  async getHostname(): Promise<string> {
    return dispatch(this.#core, this.spec('virConnectGetHostname'), 'connectGetHostname', (f) => f());
  }

  /** virNodeGetInfo. */
  async getNodeInfo(): Promise<NodeInfo> {
    return dispatch(this.#core, this.spec('virNodeGetInfo'), 'nodeGetInfo', (f) => f());
  }

  /** virConnectGetCapabilities: the `<capabilities>` XML describing the host and the guests it runs. */
  async getCapabilities(): Promise<string> {
    return dispatch(this.#core, this.spec('virConnectGetCapabilities'), 'connectGetCapabilities', (f) => f());
  }

  /**
   * virConnectGetDomainCapabilities: what a guest can have with this emulator binary,
   * architecture, machine type and virtualization type (`qemu`, `kvm`); each null or omitted
   * argument is the driver's default. Read-only connections are refused, as libvirt does.
   */
  async getDomainCapabilities(emulatorbin?: string | null, arch?: string | null, machine?: string | null, virttype?: string | null, flags = 0): Promise<string> {
    const spec = this.spec('virConnectGetDomainCapabilities', { mutating: true, flags });
    return dispatch(this.#core, spec, 'connectGetDomainCapabilities', (f) => f(emulatorbin || null, arch || null, machine || null, virttype || null, flags));
  }

  /**
   * virConnectListAllStoragePools: the storage pools (name and UUID). tsvirt's test and QEMU
   * drivers have no storage driver, so they fail with NO_SUPPORT as libvirt does without one;
   * through the remote driver the peer's pools are listed.
   */
  async listAllStoragePools(flags = 0): Promise<StoragePoolRef[]> {
    const spec = this.spec('virConnectListAllStoragePools', { flags, errorDomain: ErrorDomain.STORAGE });
    return dispatch(this.#core, spec, 'connectListAllStoragePools', (f) => f(flags));
  }

  /** virConnectListAllDomains with ListAllDomainsFlags filters. */
  async listAllDomains(flags = 0): Promise<Domain[]> {
    const refs = await dispatch(this.#core, this.spec('virConnectListAllDomains', { flags }), 'connectListAllDomains', (f) => f(flags));
    return refs.map(this.domain);
  }

  /** virDomainLookupByName. */
  async lookupDomainByName(name: string): Promise<Domain> {
    const spec = this.spec('virDomainLookupByName', { prepare: () => requireString(name, 'name', 'virDomainLookupByName') });
    return this.domain(await dispatch(this.#core, spec, 'domainLookupByName', (f, n) => f(n)));
  }

  /** virDomainLookupByUUID / virDomainLookupByUUIDString: 16 raw bytes or the string form. */
  async lookupDomainByUUID(uuid: string | Uint8Array): Promise<Domain> {
    const spec = this.spec('virDomainLookupByUUID', { prepare: () => canonicalUuid(uuid) });
    return this.domain(await dispatch(this.#core, spec, 'domainLookupByUUID', (f, u) => f(u)));
  }

  /** virDomainLookupByID. */
  async lookupDomainByID(id: number): Promise<Domain> {
    const spec = this.spec('virDomainLookupByID', {
      prepare: () => {
        if (!Number.isInteger(id) || id < 0) {
          throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, 'id in virDomainLookupByID must be greater than or equal to 0');
        }
        return id;
      },
    });
    return this.domain(await dispatch(this.#core, spec, 'domainLookupByID', (f, i) => f(i)));
  }

  /** virDomainDefineXMLFlags: defines a persistent domain. */
  async defineXML(xml: string, flags = 0): Promise<Domain> {
    const spec = this.spec('virDomainDefineXMLFlags', { mutating: true, flags, prepare: () => requireString(xml, 'xml', 'virDomainDefineXMLFlags') });
    return this.domain(await dispatch(this.#core, spec, 'domainDefineXML', (f, x) => f(x, flags)));
  }

  /** virDomainCreateXML: starts a transient domain. */
  async createXML(xml: string, flags = 0): Promise<Domain> {
    const spec = this.spec('virDomainCreateXML', { mutating: true, flags, prepare: () => requireString(xml, 'xmlDesc', 'virDomainCreateXML') });
    return this.domain(await dispatch(this.#core, spec, 'domainCreateXML', (f, x) => f(x, flags)));
  }

  /** virDomainRestore: restores a guest from an image made by save. */
  async restore(from: string): Promise<void> {
    const spec = this.spec('virDomainRestore', { mutating: true, prepare: () => absolutePath(requireString(from, 'from', 'virDomainRestore')) });
    await dispatch(this.#core, spec, 'domainRestore', (f, file) => f(file));
  }

  /** virDomainRestoreFlags: with RUNNING / PAUSED / BYPASS_CACHE and optional replacement XML. */
  async restoreFlags(from: string, dxml: string | null, flags = 0): Promise<void> {
    const spec = this.spec('virDomainRestoreFlags', {
      mutating: true,
      flags,
      exclusive: [RUNNING_PAUSED_EXCLUSIVE],
      prepare: () => absolutePath(requireString(from, 'from', 'virDomainRestoreFlags')),
    });
    await dispatch(this.#core, spec, 'domainRestoreFlags', (f, file) => f(file, dxml ?? null, flags));
  }

  /** virDomainRestoreParams: typed parameters (`file`, `dxml`, `parallel.channels`). */
  async restoreParams(params: ParamsInput<DomainRestoreParams>, flags = 0): Promise<void> {
    const spec = this.spec('virDomainRestoreParams', {
      mutating: true,
      flags,
      exclusive: [RUNNING_PAUSED_EXCLUSIVE],
      // The typed object is one shape of the open input that the schema checks at run time.
      prepare: () => validateParams('domain-restore-params', params as TypedParamsInput),
    });
    await dispatch(this.#core, spec, 'domainRestoreParams', (f, list) => f(list, flags));
  }

  /** virDomainSaveImageGetXMLDesc: the domain XML stored in an image. */
  async saveImageGetXMLDesc(file: string, flags = 0): Promise<string> {
    const spec = this.spec('virDomainSaveImageGetXMLDesc', { flags, prepare: () => absolutePath(requireString(file, 'file', 'virDomainSaveImageGetXMLDesc')) });
    return dispatch(this.#core, spec, 'domainSaveImageGetXMLDesc', (f, p) => f(p, flags));
  }

  /** virDomainSaveImageDefineXML: replaces the XML stored in an image (RUNNING/PAUSED rewrite its state). */
  async saveImageDefineXML(file: string, dxml: string, flags = 0): Promise<void> {
    const spec = this.spec('virDomainSaveImageDefineXML', {
      mutating: true,
      flags,
      exclusive: [RUNNING_PAUSED_EXCLUSIVE],
      prepare: () => {
        requireString(dxml, 'dxml', 'virDomainSaveImageDefineXML');
        return absolutePath(requireString(file, 'file', 'virDomainSaveImageDefineXML'));
      },
    });
    await dispatch(this.#core, spec, 'domainSaveImageDefineXML', (f, p) => f(p, dxml, flags));
  }

  /** virNodeGetSecurityModel: the host's security driver (model "" or "none": none). */
  async getSecurityModel(): Promise<SecurityModel> {
    return dispatch(this.#core, this.spec('virNodeGetSecurityModel'), 'nodeGetSecurityModel', (f) => f());
  }

  /**
   * virConnectDomainEventRegisterAny: `cb` receives every event `eventId` (DomainEventId,
   * libvirt's numbering) of `domain`, or of every domain when it is omitted. Every id libvirt
   * defines is accepted; those no driver raises simply never arrive. Returns the callback id for
   * domainEventDeregisterAny. An exception thrown by `cb` is logged, never propagated.
   */
  async domainEventRegisterAny<K extends DomainEventId>(eventId: K, cb: (ev: DomainEventInfo<K>) => void, domain?: Domain | null): Promise<number> {
    const spec = this.spec('virConnectDomainEventRegisterAny', { prepare: () => checkEventId(eventId) });
    const ref = domain ? domain.ref : null;
    return dispatch(this.#core, spec, 'connectDomainEventRegisterAny', (f, id) =>
      f(id, ref, (ev) => {
        try {
          cb({ ...ev, domain: this.domain(ev.domain) } as DomainEventInfo<K>);
        } catch (err) {
          log.warn({ err }, 'domain event callback threw');
        }
      }),
    );
  }

  /** virConnectDomainEventDeregisterAny. */
  async domainEventDeregisterAny(callbackId: number): Promise<void> {
    await dispatch(this.#core, this.spec('virConnectDomainEventDeregisterAny'), 'connectDomainEventDeregisterAny', (f) => f(callbackId));
  }

  /** Lifecycle events only: domainEventRegisterAny(DomainEventId.LIFECYCLE, cb). */
  async domainEventRegister(cb: (ev: DomainLifecycleEventInfo) => void): Promise<number> {
    return this.domainEventRegisterAny(DomainEventId.LIFECYCLE, cb);
  }

  /** Removes a callback of domainEventRegister (the same as domainEventDeregisterAny). */
  async domainEventDeregister(callbackId: number): Promise<void> {
    await this.domainEventDeregisterAny(callbackId);
  }
}

function accepts(schemes: readonly string[] | undefined, localOnly: boolean | undefined, remoteOnly: boolean | undefined, uri: VirUri): boolean {
  const remote = uri.host !== undefined || uri.transport !== undefined;
  if (schemes !== undefined && !schemes.includes(uri.scheme)) return false;
  if (localOnly && remote) return false;
  if (remoteOnly && !remote) return false;
  return true;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** True for the UUID spellings the public API accepts (32 hex digits, dashes between the groups). */
export function isUuidString(text: string): boolean {
  return UUID_RE.test(text);
}

/** Canonical lower-case, dashed form of a UUID given as a string or 16 bytes. */
export function canonicalUuid(uuid: string | Uint8Array): string {
  let hex: string;
  if (typeof uuid === 'string') {
    if (!isUuidString(uuid)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `uuid '${uuid}' is not a valid UUID`);
    hex = uuid;
  } else if (uuid instanceof Uint8Array && uuid.length === 16) {
    hex = Buffer.from(uuid).toString('hex');
  } else {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, 'uuid in virDomainLookupByUUID must be 16 bytes or a UUID string');
  }
  return formatUuid(hex)!;
}
