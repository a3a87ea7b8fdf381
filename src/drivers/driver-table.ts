/**
 * The hypervisor driver table: one optional method per API, as libvirt's virHypervisorDriver.
 *
 * A driver fills in the slots it supports. A missing slot means "not supported": the public
 * layer raises NO_SUPPORT naming the public function, so drivers never write throwing stubs.
 * Slots receive arguments the public layer has already checked (handles, read-only, exclusive
 * flags, typed parameters against the API's schema, absolute paths); each driver still checks
 * the flag bits it understands, because only it knows them.
 */
import type { Duplex } from 'node:stream';
import type { TypedParameter } from '../util/typed-params';
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
  StoragePoolRef,
} from './types';

/** What a driver implements for one open connection; see the module comment for the rules. */
export interface HypervisorDriver {
  /** The driver's name as virConnectGetType reports it (e.g. "QEMU", "TEST"). */
  readonly name: string;

  /** Releases what the connection holds. Called once by virConnectClose. */
  connectClose?(): Promise<void>;
  /** virConnectGetType: hypervisor type name. */
  connectGetType?(): Promise<string>;
  /** virConnectGetVersion: hypervisor version as major * 1,000,000 + minor * 1,000 + micro. */
  connectGetVersion?(): Promise<number>;
  /** virConnectGetHostname. */
  connectGetHostname?(): Promise<string>;
  /** virConnectGetURI: the canonical URI of this connection. */
  connectGetURI?(): Promise<string>;
  /** virNodeGetInfo. */
  nodeGetInfo?(): Promise<NodeInfo>;
  /** virConnectGetCapabilities: the host and guest capabilities XML (`<capabilities>`). */
  connectGetCapabilities?(): Promise<string>;
  /**
   * virConnectGetDomainCapabilities: the `<domainCapabilities>` XML for an emulator binary,
   * architecture, machine type and virtualization type; null picks the driver's default.
   */
  connectGetDomainCapabilities?(emulatorbin: string | null, arch: string | null, machine: string | null, virttype: string | null, flags: number): Promise<string>;
  /**
   * virConnectListAllStoragePools (libvirt's storage driver; VIR_CONNECT_LIST_STORAGE_POOLS_*
   * filters). tsvirt's own drivers have no storage driver; the remote driver asks its peer.
   */
  connectListAllStoragePools?(flags: number): Promise<StoragePoolRef[]>;
  /** virConnectListAllDomains; `flags` are VIR_CONNECT_LIST_DOMAINS_* filters. */
  connectListAllDomains?(flags: number): Promise<DomainRef[]>;

  /** virDomainLookupByName; NO_DOMAIN when absent. */
  domainLookupByName?(name: string): Promise<DomainRef>;
  /** virDomainLookupByUUID; `uuid` is canonical lower-case. */
  domainLookupByUUID?(uuid: string): Promise<DomainRef>;
  /** virDomainLookupByID. */
  domainLookupByID?(id: number): Promise<DomainRef>;

  /** virDomainDefineXMLFlags: defines (or redefines) a persistent domain. */
  domainDefineXML?(xml: string, flags: number): Promise<DomainRef>;
  /** virDomainCreateXML: starts a transient domain. */
  domainCreateXML?(xml: string, flags: number): Promise<DomainRef>;
  /** virDomainUndefineFlags. */
  domainUndefine?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainCreateWithFlags: starts a defined domain (restoring its managed save image if any). */
  domainCreate?(dom: DomainRef, flags: number): Promise<DomainRef>;
  /** virDomainDestroyFlags. */
  domainDestroy?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainSuspend. */
  domainSuspend?(dom: DomainRef): Promise<void>;
  /**
   * virDomainShutdownFlags: asks the guest to power off (ACPI power button) and returns without
   * waiting; `flags` are VIR_DOMAIN_SHUTDOWN_* methods, 0 = the driver's default.
   */
  domainShutdown?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainReboot: asks the guest to reboot; `flags` are VIR_DOMAIN_REBOOT_* methods. */
  domainReboot?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainReset: resets the virtual hardware at once, as the reset button does. */
  domainReset?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainResume. */
  domainResume?(dom: DomainRef): Promise<void>;
  /**
   * virDomainOpenConsole: a duplex byte stream on the guest's serial console `devName`
   * (libvirt's alias, e.g. "serial0"; null = the first); VIR_DOMAIN_CONSOLE_* flags.
   */
  domainOpenConsole?(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex>;
  /** virDomainGetInfo. */
  domainGetInfo?(dom: DomainRef): Promise<DomainInfo>;
  /** virDomainGetState. */
  domainGetState?(dom: DomainRef, flags: number): Promise<DomainStateInfo>;
  /** virDomainGetXMLDesc. */
  domainGetXMLDesc?(dom: DomainRef, flags: number): Promise<string>;
  /** virDomainIsActive. */
  domainIsActive?(dom: DomainRef): Promise<boolean>;
  /** virDomainIsPersistent. */
  domainIsPersistent?(dom: DomainRef): Promise<boolean>;

  /** virDomainSave: `to` is absolute. */
  domainSave?(dom: DomainRef, to: string): Promise<void>;
  /** virDomainSaveFlags: `to` is absolute; `dxml` replaces the saved XML (same ABI). */
  domainSaveFlags?(dom: DomainRef, to: string, dxml: string | null, flags: number): Promise<void>;
  /**
   * virDomainSaveParametersFlags (the RFC's name; libvirt ships it as virDomainSaveParams).
   * `params` passed the domain-save-params schema; `file` is absolute; no `file` = managed save.
   */
  domainSaveParams?(dom: DomainRef, params: TypedParameter[], flags: number): Promise<void>;
  /** virDomainRestore: `from` is absolute. */
  domainRestore?(from: string): Promise<void>;
  /** virDomainRestoreFlags. */
  domainRestoreFlags?(from: string, dxml: string | null, flags: number): Promise<void>;
  /** virDomainRestoreParams: `params` passed the domain-restore-params schema. */
  domainRestoreParams?(params: TypedParameter[], flags: number): Promise<void>;
  /** virDomainSaveImageGetXMLDesc. */
  domainSaveImageGetXMLDesc?(file: string, flags: number): Promise<string>;
  /** virDomainSaveImageDefineXML: rewrites the image's XML in place. */
  domainSaveImageDefineXML?(file: string, dxml: string, flags: number): Promise<void>;
  /** virDomainManagedSave. */
  domainManagedSave?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainHasManagedSaveImage. */
  domainHasManagedSaveImage?(dom: DomainRef, flags: number): Promise<boolean>;
  /** virDomainManagedSaveRemove. */
  domainManagedSaveRemove?(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainManagedSaveGetXMLDesc: the XML in the managed save image (OPERATION_INVALID without one). */
  domainManagedSaveGetXMLDesc?(dom: DomainRef, flags: number): Promise<string>;
  /** virDomainManagedSaveDefineXML: replaces the XML in the managed save image (RUNNING/PAUSED rewrite its state). */
  domainManagedSaveDefineXML?(dom: DomainRef, dxml: string, flags: number): Promise<void>;

  /** virDomainGetJobInfo: the running job, or type NONE. */
  domainGetJobInfo?(dom: DomainRef): Promise<JobInfo>;
  /** virDomainGetJobStats; flag COMPLETED asks for the last finished job. */
  domainGetJobStats?(dom: DomainRef, flags: number): Promise<JobStats>;
  /** virDomainAbortJobFlags. */
  domainAbortJob?(dom: DomainRef, flags: number): Promise<void>;

  /**
   * virConnectDomainEventRegisterAny: `cb` gets every event `eventId` (an id the public layer
   * checked) of `dom`, or of all domains when null; returns a callback id.
   */
  connectDomainEventRegisterAny?(eventId: DomainEventId, dom: DomainRef | null, cb: DomainEventCallback): Promise<number>;
  /** virConnectDomainEventDeregisterAny: only callbacks this connection registered. */
  connectDomainEventDeregisterAny?(callbackId: number): Promise<void>;

  /** virDomainGetAutostart. */
  domainGetAutostart?(dom: DomainRef): Promise<boolean>;
  /** virDomainSetAutostart: persistent domains only. */
  domainSetAutostart?(dom: DomainRef, autostart: boolean): Promise<void>;

  /** virNodeGetSecurityModel: the host's security driver ("" model = none configured). */
  nodeGetSecurityModel?(): Promise<SecurityModel>;
  /** virDomainGetSecurityLabel: the domain's label ("" when it has none, e.g. inactive). */
  domainGetSecurityLabel?(dom: DomainRef): Promise<SecurityLabel>;
}

/** Every slot name of the table, e.g. for a proxy that forwards them all. */
export type HypervisorSlot = Exclude<keyof HypervisorDriver, 'name'>;
