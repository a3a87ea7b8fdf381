/**
 * The public domain handle (libvirt's virDomainPtr), object style as in libvirt-python/go.
 */
import type { Duplex } from 'node:stream';
import type { DomainInfo, DomainRef, DomainStateInfo, JobInfo, JobStats, SecurityLabel } from '../drivers/types';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import type { TypedParamsInput } from '../util/typed-params';
import type { DomainSaveParams, ParamsInput } from './param-types';
import { dispatch, requireString, type ConnectionCore, type EntrySpec, type ExclusiveFlags } from './entry';
import { SaveRestoreFlags } from './save-flags';
import { DomainXMLFlags } from './flags';
import { validateParams } from './param-schemas';
import { absolutePath } from './paths';

/** RUNNING and PAUSED together are refused by the client, before any driver sees them. */
export const RUNNING_PAUSED_EXCLUSIVE: ExclusiveFlags = {
  a: SaveRestoreFlags.RUNNING,
  aName: 'VIR_DOMAIN_SAVE_RUNNING',
  b: SaveRestoreFlags.PAUSED,
  bName: 'VIR_DOMAIN_SAVE_PAUSED',
};

/** A domain on an open connection. */
export class Domain {
  #ref: DomainRef;

  /** @internal Handles are made by Connect's lookups, never by callers. */
  constructor(
    private readonly core: ConnectionCore,
    ref: DomainRef,
  ) {
    this.#ref = ref;
  }

  /** Domain name. */
  get name(): string {
    return this.#ref.name;
  }
  /** Canonical UUID string. */
  get uuid(): string {
    return this.#ref.uuid;
  }
  /** Runtime id as last seen by this handle (-1 when inactive); see getID() for a fresh one. */
  get id(): number {
    return this.#ref.id;
  }
  /** The reference the driver table works with. */
  get ref(): DomainRef {
    return this.#ref;
  }

  private spec<P>(fn: string, extra: Omit<EntrySpec<P>, 'fn' | 'domainValid'> = {}): EntrySpec<P> {
    return { fn, domainValid: () => !this.core.closed, logFields: { domain: this.#ref.name }, ...extra };
  }

  /** Refreshes the handle's id from the driver (ids change when a domain starts or stops). */
  async getID(): Promise<number> {
    const ref = await dispatch(this.core, this.spec('virDomainGetID'), 'domainLookupByUUID', (f) => f(this.#ref.uuid));
    this.#ref = ref;
    return ref.id;
  }

  /** virDomainCreateWithFlags: starts the domain (from its managed save image if it has one). */
  async create(flags = 0): Promise<void> {
    this.#ref = await dispatch(this.core, this.spec('virDomainCreateWithFlags', { mutating: true, flags }), 'domainCreate', (f) =>
      f(this.#ref, flags),
    );
  }

  /** virDomainDestroyFlags: stops the domain at once. */
  async destroy(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec(flags ? 'virDomainDestroyFlags' : 'virDomainDestroy', { mutating: true, flags }), 'domainDestroy', (f) => f(this.#ref, flags));
  }

  /**
   * virDomainShutdown: asks the guest OS to power off (ACPI power button) and returns at once;
   * the domain stops when the guest has shut down. A guest that ignores ACPI keeps running.
   */
  async shutdown(): Promise<void> {
    await dispatch(this.core, this.spec('virDomainShutdown', { mutating: true }), 'domainShutdown', (f) => f(this.#ref, 0));
  }

  /**
   * virDomainShutdownFlags: as shutdown(), choosing the method with VIR_DOMAIN_SHUTDOWN_* flags
   * (0 = the driver's default; a driver refuses the methods it does not have).
   */
  async shutdownFlags(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec('virDomainShutdownFlags', { mutating: true, flags }), 'domainShutdown', (f) => f(this.#ref, flags));
  }

  /**
   * virDomainReboot: asks the guest OS to reboot and returns at once; the domain keeps running
   * (same id) through the reboot. `flags` are VIR_DOMAIN_REBOOT_* methods, 0 = default.
   */
  async reboot(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec('virDomainReboot', { mutating: true, flags }), 'domainReboot', (f) => f(this.#ref, flags));
  }

  /** virDomainReset: resets the virtual machine at once, without the guest's cooperation. */
  async reset(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec('virDomainReset', { mutating: true, flags }), 'domainReset', (f) => f(this.#ref, flags));
  }

  /**
   * virDomainOpenConsole: a duplex byte stream on the guest's serial console, as `virsh console`
   * uses it. `devName` is the device alias ("serial0", "console0"; default the first console);
   * flags VIR_DOMAIN_CONSOLE_FORCE (1: take over an open session) and SAFE (2). Destroy the
   * stream to close the session; it ends by itself when the guest's QEMU exits.
   */
  async openConsole(devName: string | null = null, flags = 0): Promise<Duplex> {
    return dispatch(this.core, this.spec('virDomainOpenConsole', { mutating: true, flags }), 'domainOpenConsole', (f) => f(this.#ref, devName, flags));
  }

  /** virDomainSuspend: pauses the vCPUs. */
  async suspend(): Promise<void> {
    await dispatch(this.core, this.spec('virDomainSuspend', { mutating: true }), 'domainSuspend', (f) => f(this.#ref));
  }

  /** virDomainResume. */
  async resume(): Promise<void> {
    await dispatch(this.core, this.spec('virDomainResume', { mutating: true }), 'domainResume', (f) => f(this.#ref));
  }

  /** virDomainUndefineFlags: removes the persistent definition. */
  async undefine(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec(flags ? 'virDomainUndefineFlags' : 'virDomainUndefine', { mutating: true, flags }), 'domainUndefine', (f) => f(this.#ref, flags));
  }

  /** virDomainGetInfo. */
  async getInfo(): Promise<DomainInfo> {
    return dispatch(this.core, this.spec('virDomainGetInfo'), 'domainGetInfo', (f) => f(this.#ref));
  }

  /** virDomainGetState: state and reason. */
  async getState(flags = 0): Promise<DomainStateInfo> {
    return dispatch(this.core, this.spec('virDomainGetState', { flags }), 'domainGetState', (f) => f(this.#ref, flags));
  }

  /** virDomainGetXMLDesc. */
  async getXMLDesc(flags = 0): Promise<string> {
    return dispatch(this.core, this.spec('virDomainGetXMLDesc', { flags }), 'domainGetXMLDesc', (f) => f(this.#ref, flags));
  }

  /** virDomainIsActive. */
  async isActive(): Promise<boolean> {
    return dispatch(this.core, this.spec('virDomainIsActive'), 'domainIsActive', (f) => f(this.#ref));
  }

  /** virDomainIsPersistent. */
  async isPersistent(): Promise<boolean> {
    return dispatch(this.core, this.spec('virDomainIsPersistent'), 'domainIsPersistent', (f) => f(this.#ref));
  }

  /** virDomainSave: saves the running guest to `to` and stops it. */
  async save(to: string): Promise<void> {
    await dispatch(
      this.core,
      this.spec('virDomainSave', { mutating: true, prepare: () => absolutePath(requireString(to, 'to', 'virDomainSave')) }),
      'domainSave',
      (f, file) => f(this.#ref, file),
    );
  }

  /** virDomainSaveFlags: save with flags (BYPASS_CACHE, RUNNING, PAUSED, PARALLEL) and optional replacement XML. */
  async saveFlags(to: string, dxml: string | null, flags = 0): Promise<void> {
    await dispatch(
      this.core,
      this.spec('virDomainSaveFlags', {
        mutating: true,
        flags,
        exclusive: [RUNNING_PAUSED_EXCLUSIVE],
        prepare: () => absolutePath(requireString(to, 'to', 'virDomainSaveFlags')),
      }),
      'domainSaveFlags',
      (f, file) => f(this.#ref, file, dxml ?? null, flags),
    );
  }

  /**
   * virDomainSaveParametersFlags (the RFC's API): save with typed parameters (`file`, `dxml`,
   * `image_format`, `parallel.channels`, `parallel.compression`, `parallel.mode`) and flags
   * including PARALLEL. Parameters may be libvirt's list or a plain object.
   */
  async saveParametersFlags(params: ParamsInput<DomainSaveParams>, flags = 0): Promise<void> {
    return this.saveParamsAs('virDomainSaveParametersFlags', params, flags);
  }

  /** libvirt's shipped name for saveParametersFlags (virDomainSaveParams). */
  async saveParams(params: ParamsInput<DomainSaveParams>, flags = 0): Promise<void> {
    return this.saveParamsAs('virDomainSaveParams', params, flags);
  }

  private async saveParamsAs(fn: string, params: ParamsInput<DomainSaveParams>, flags: number): Promise<void> {
    await dispatch(
      this.core,
      this.spec(fn, {
        mutating: true,
        flags,
        exclusive: [RUNNING_PAUSED_EXCLUSIVE],
        // The typed object is one shape of the open input that the schema checks at run time.
        prepare: () => validateParams('domain-save-params', params as TypedParamsInput),
        logFields: { domain: this.#ref.name, params: Array.isArray(params) ? params.length : Object.keys(params ?? {}) },
      }),
      'domainSaveParams',
      (f, list) => f(this.#ref, list, flags),
    );
  }

  /** virDomainManagedSave: saves to the driver's managed location; the next create() restores. */
  async managedSave(flags = 0): Promise<void> {
    await dispatch(
      this.core,
      this.spec('virDomainManagedSave', { mutating: true, flags, exclusive: [RUNNING_PAUSED_EXCLUSIVE] }),
      'domainManagedSave',
      (f) => f(this.#ref, flags),
    );
  }

  /** virDomainHasManagedSaveImage. */
  async hasManagedSaveImage(flags = 0): Promise<boolean> {
    return dispatch(this.core, this.spec('virDomainHasManagedSaveImage', { flags }), 'domainHasManagedSaveImage', (f) => f(this.#ref, flags));
  }

  /** virDomainManagedSaveRemove. */
  async managedSaveRemove(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec('virDomainManagedSaveRemove', { mutating: true, flags }), 'domainManagedSaveRemove', (f) =>
      f(this.#ref, flags),
    );
  }

  /**
   * virDomainManagedSaveGetXMLDesc: the domain XML stored in the managed save image
   * (DomainXMLFlags.SECURE, refused on read-only connections, adds security-sensitive data).
   */
  async managedSaveGetXMLDesc(flags = 0): Promise<string> {
    const spec = this.spec('virDomainManagedSaveGetXMLDesc', {
      flags,
      prepare: () => {
        if (this.core.readOnly && flags & DomainXMLFlags.SECURE) {
          throw VirError.report(ErrorCode.OPERATION_DENIED, ErrorDomain.NONE, 'virDomainManagedSaveGetXMLDesc with secure flag');
        }
      },
    });
    return dispatch(this.core, spec, 'domainManagedSaveGetXMLDesc', (f) => f(this.#ref, flags));
  }

  /** virDomainManagedSaveDefineXML: replaces the XML of the managed save image (same name and UUID). */
  async managedSaveDefineXML(dxml: string, flags = 0): Promise<void> {
    await dispatch(
      this.core,
      this.spec('virDomainManagedSaveDefineXML', {
        mutating: true,
        flags,
        exclusive: [RUNNING_PAUSED_EXCLUSIVE],
        prepare: () => requireString(dxml, 'dxml', 'virDomainManagedSaveDefineXML'),
      }),
      'domainManagedSaveDefineXML',
      (f, xml) => f(this.#ref, xml, flags),
    );
  }

  /** virDomainGetJobInfo: progress of the running job (type NONE when idle). */
  async getJobInfo(): Promise<JobInfo> {
    return dispatch(this.core, this.spec('virDomainGetJobInfo'), 'domainGetJobInfo', (f) => f(this.#ref));
  }

  /** virDomainGetJobStats: typed statistics; JobStatsFlags.COMPLETED for the last finished job. */
  async getJobStats(flags = 0): Promise<JobStats> {
    return dispatch(this.core, this.spec('virDomainGetJobStats', { flags }), 'domainGetJobStats', (f) => f(this.#ref, flags));
  }

  /** virDomainAbortJobFlags: cancels the running job (a save leaves the guest running). */
  async abortJob(flags = 0): Promise<void> {
    await dispatch(this.core, this.spec(flags ? 'virDomainAbortJobFlags' : 'virDomainAbortJob', { mutating: true, flags }), 'domainAbortJob', (f) =>
      f(this.#ref, flags),
    );
  }

  /** virDomainGetAutostart: true when the domain starts with the host (see the driver docs). */
  async getAutostart(): Promise<boolean> {
    return dispatch(this.core, this.spec('virDomainGetAutostart'), 'domainGetAutostart', (f) => f(this.#ref));
  }

  /** virDomainSetAutostart. */
  async setAutostart(autostart: boolean): Promise<void> {
    const spec = this.spec('virDomainSetAutostart', {
      mutating: true,
      prepare: () => {
        if (typeof autostart !== 'boolean' && autostart !== 0 && autostart !== 1) {
          throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, 'autostart in virDomainSetAutostart must be a boolean');
        }
        return !!autostart;
      },
    });
    await dispatch(this.core, spec, 'domainSetAutostart', (f, on) => f(this.#ref, on));
  }

  /** virDomainGetSecurityLabel: the domain's label under the host's security model. */
  async getSecurityLabel(): Promise<SecurityLabel> {
    return dispatch(this.core, this.spec('virDomainGetSecurityLabel'), 'domainGetSecurityLabel', (f) => f(this.#ref));
  }

  /** For logs and debugging. */
  toString(): string {
    return `Domain(${this.#ref.name}, ${this.#ref.uuid}, id=${this.#ref.id})`;
  }
}
