/**
 * The QEMU hypervisor driver table: one object per connection, over the process-wide state of
 * its URI. Slots check the flags they understand and delegate to the feature modules.
 */
import * as power from './power';
import { openConsole } from './console';
import { capabilitiesXML } from './host-capabilities';
import { domainCapabilitiesXML } from './domain-capabilities';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { removeSaveImageFiles } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import type { TypedParameter } from '../../util/typed-params';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { CreateFlags } from '../common/domain-flags';
import { resolveSaveOptions, type SaveOptions } from '../common/save-options';
import {
  VIR_DOMAIN_SAVE_BYPASS_CACHE,
  VIR_DOMAIN_SAVE_PARALLEL,
  VIR_DOMAIN_SAVE_PAUSED,
  VIR_DOMAIN_SAVE_RESET_NVRAM,
  VIR_DOMAIN_SAVE_RUNNING,
} from '../common/save-flags';
import type { HypervisorDriver } from '../driver-table';
import type { DomainRef, JobInfo, JobStats, NodeInfo, SecurityLabel } from '../types';
import { getAutostart, setAutostart } from './autostart';
import * as life from './lifecycle';
import { refuseIfMapped } from './instant-restore';
import { restoreDomain } from './restore';
import { refreshSaveProgress, saveDomain } from './save';
import { defineImageXML, imageXML } from './save-image-xml';
import { releaseState, type QemuDriverState } from './state';
import type { QemuDomain } from './domain-obj';
import { selfIdentity } from './process';

const log = moduleLogger('qemu-driver');

const SAVE_FLAGS = VIR_DOMAIN_SAVE_BYPASS_CACHE | VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED;
const RESTORE_FLAGS = SAVE_FLAGS | VIR_DOMAIN_SAVE_RESET_NVRAM;

/** Per-connection settings taken from the URI query. */
export interface QemuConnectionOptions {
  /** The canonical URI of the connection. */
  uri: string;
  /**
   * `?save_max_bandwidth=BYTES` (tsvirt test option): migration bandwidth during saves instead
   * of libvirt's unlimited, so tests can watch and abort a save of a small guest.
   */
  saveMaxBandwidth?: number;
}

let versionCache: Promise<number> | undefined;

/**
 * The default emulator's version as major * 1e6 + minor * 1e3 + micro (0 when absent). Asked
 * once per process, without blocking the event loop (a daemon serves other clients meanwhile).
 */
function qemuVersion(): Promise<number> {
  versionCache ??= new Promise((resolve) => {
    execFile('/usr/bin/qemu-system-x86_64', ['--version'], { encoding: 'utf8', timeout: 10_000 }, (err, out) => {
      const m = err ? null : /version (\d+)\.(\d+)\.(\d+)/.exec(out);
      resolve(m ? Number(m[1]) * 1_000_000 + Number(m[2]) * 1_000 + Number(m[3]) : 0);
    });
  });
  return versionCache;
}

function invalid(detail: string): VirError {
  return VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, detail);
}

/**
 * virDomainCreateWithFlags under the domain lock: restores the managed save image when there is
 * one (and removes it, channel files included, once the guest runs), or with START_FORCE_BOOT
 * removes it and boots, as libvirt does.
 */
export async function startDomain(st: QemuDriverState, dom: DomainRef, flags: number): Promise<QemuDomain> {
  checkFlags(flags, 0x1f, 'qemuDomainCreateWithFlags', ErrorDomain.QEMU);
  const d = st.resolve(dom);
  if (st.isActive(d)) throw invalid('domain is already running');
  const lock = life.lockForStart(st, d.def, 'domain is already running');
  try {
    const managed = st.managedSavePath(d);
    if (existsSync(managed)) {
      if (flags & CreateFlags.START_FORCE_BOOT) {
        refuseIfMapped(managed, 'remove the managed save image');
        await removeSaveImageFiles(managed, ErrorDomain.QEMU);
      } else {
        const restored = await restoreDomain(st, {
          file: managed,
          bypassCache: (flags & CreateFlags.START_BYPASS_CACHE) !== 0,
          runningOverride: flags & CreateFlags.START_PAUSED ? 'paused' : undefined,
          managedFor: d,
          lock,
        });
        await removeSaveImageFiles(managed, ErrorDomain.QEMU);
        return restored;
      }
    }
    await life.boot(st, d, flags);
    return d;
  } finally {
    lock.release();
  }
}

/**
 * The guests a connection started with VIR_DOMAIN_START_AUTODESTROY: destroyed when it closes.
 * Each is remembered with its QEMU pid, so a guest that was saved and started again (by anyone)
 * in the meantime is not the one destroyed.
 */
class AutoDestroyList {
  private readonly guests = new Map<string, number>();

  constructor(private readonly st: QemuDriverState) {}

  /** Records a guest this connection just started. */
  note(d: QemuDomain): void {
    if (!d.proc) return;
    this.guests.set(d.def.uuid, d.proc.pid);
    // Recorded in the status file too: if this process is killed, the next open destroys the guest.
    d.autoDestroyOwner = selfIdentity();
    this.st.persistStatus(d);
  }

  /** Destroys the recorded guests that still run the QEMU this connection started. */
  async run(): Promise<void> {
    const guests = [...this.guests];
    this.guests.clear();
    for (const [uuid, pid] of guests) {
      const d = this.st.domains.find((x) => x.def.uuid === uuid);
      if (!d || !this.st.isActive(d) || d.proc?.pid !== pid) continue;
      try {
        await life.destroy(this.st, this.st.ref(d), 0);
      } catch (err) {
        log.warn({ domain: d.def.name, err: (err as Error).message }, 'could not auto-destroy the guest');
      }
    }
  }
}

/** Builds the driver table of one connection. */
export function createQemuDriver(st: QemuDriverState, opts: QemuConnectionOptions): HypervisorDriver {
  let closed = false;
  const autoDestroy = new AutoDestroyList(st);
  /** This connection's event callbacks: dropped when it closes, as libvirt does. */
  const callbackIds = new Set<number>();

  const save = async (dom: DomainRef, file: string | undefined, options: SaveOptions): Promise<void> => {
    let target = file;
    if (target === undefined) {
      const d = st.resolve(dom);
      if (!d.persistent) throw invalid('cannot do managed save for transient domain');
      target = st.managedSavePath(d);
    }
    await saveDomain(st, dom, target, options, opts.saveMaxBandwidth);
  };

  const restore = async (file: string | undefined, dxml: string | null | undefined, flags: number, channels?: number, instant?: boolean): Promise<void> => {
    if (file === undefined) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, 'missing path to restore from');
    await restoreDomain(st, {
      file,
      dxml: dxml ?? undefined,
      bypassCache: (flags & VIR_DOMAIN_SAVE_BYPASS_CACHE) !== 0,
      runningOverride: flags & VIR_DOMAIN_SAVE_RUNNING ? 'running' : flags & VIR_DOMAIN_SAVE_PAUSED ? 'paused' : undefined,
      channels,
      instant,
      resetNvram: (flags & VIR_DOMAIN_SAVE_RESET_NVRAM) !== 0,
    });
  };

  /** The domain's managed save image; OPERATION_INVALID when it has none. */
  const managedImage = (dom: DomainRef): string => {
    const path = st.managedSavePath(st.resolve(dom));
    if (!existsSync(path)) throw invalid('domain does not have managed save image');
    return path;
  };

  return {
    name: 'QEMU',
    async connectClose(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const id of callbackIds) st.events.deregister(id);
      callbackIds.clear();
      // Before the monitors close: destroying needs them.
      await autoDestroy.run();
      await releaseState(st);
    },
    connectGetType: async () => 'QEMU',
    connectGetVersion: () => qemuVersion(),
    connectGetHostname: async () => hostname(),
    connectGetURI: async () => opts.uri,
    async nodeGetInfo(): Promise<NodeInfo> {
      const c = cpus();
      return { model: 'x86_64', memory: Math.floor(totalmem() / 1024), cpus: c.length, mhz: c[0]?.speed ?? 0, nodes: 1, sockets: 1, cores: c.length, threads: 1 };
    },
    connectListAllDomains: async (flags) => life.listAll(st, flags),
    domainLookupByName: async (name) => st.ref(st.byName(name)),
    domainLookupByUUID: async (uuid) => st.ref(st.byUuid(uuid)),
    domainLookupByID: async (id) => st.ref(st.byId(id)),
    domainDefineXML: async (xml, flags) => life.defineXML(st, xml, flags),
    domainUndefine: async (dom, flags) => life.undefine(st, dom, flags),
    async domainCreateXML(xml, flags): Promise<DomainRef> {
      const ref = await life.createXML(st, xml, flags);
      if (flags & CreateFlags.START_AUTODESTROY) autoDestroy.note(st.resolve(ref));
      return ref;
    },
    async domainCreate(dom, flags): Promise<DomainRef> {
      const d = await startDomain(st, dom, flags);
      if (flags & CreateFlags.START_AUTODESTROY) autoDestroy.note(d);
      return st.ref(d);
    },
    domainDestroy: async (dom, flags) => life.destroy(st, dom, flags),
    domainShutdown: async (dom, flags) => power.shutdown(st, dom, flags),
    domainReboot: async (dom, flags) => power.reboot(st, dom, flags),
    domainReset: async (dom, flags) => power.reset(st, dom, flags),
    domainOpenConsole: async (dom, devName, flags) => openConsole(st, dom, devName, flags),
    connectGetCapabilities: async () => capabilitiesXML(),
    connectGetDomainCapabilities: async (emulatorbin, arch, machine, virttype, flags) => domainCapabilitiesXML(emulatorbin, arch, machine, virttype, flags),
    domainSuspend: async (dom) => life.suspend(st, dom),
    domainResume: async (dom) => life.resume(st, dom),
    domainGetInfo: async (dom) => life.getInfo(st, dom),
    domainGetState: async (dom, flags) => life.getState(st, dom, flags),
    domainGetXMLDesc: async (dom, flags) => life.getXMLDesc(st, dom, flags),
    domainIsActive: async (dom) => st.isActive(st.resolve(dom)),
    domainIsPersistent: async (dom) => st.resolve(dom).persistent,

    async domainSave(dom, to): Promise<void> {
      await save(dom, to, resolveSaveOptions([], 0));
    },
    async domainSaveFlags(dom, to, dxml, flags): Promise<void> {
      checkFlags(flags, SAVE_FLAGS, 'qemuDomainSaveFlags', ErrorDomain.QEMU);
      const options = resolveSaveOptions([], flags);
      if (dxml) options.dxml = dxml;
      await save(dom, to, options);
    },
    async domainSaveParams(dom, params: TypedParameter[], flags): Promise<void> {
      checkFlags(flags, SAVE_FLAGS | VIR_DOMAIN_SAVE_PARALLEL, 'qemuDomainSaveParams', ErrorDomain.QEMU);
      const options = resolveSaveOptions(params, flags);
      await save(dom, options.file, options);
    },
    domainRestore: async (from) => restore(from, null, 0),
    async domainRestoreFlags(from, dxml, flags): Promise<void> {
      checkFlags(flags, RESTORE_FLAGS, 'qemuDomainRestoreFlags', ErrorDomain.QEMU);
      await restore(from, dxml, flags);
    },
    async domainRestoreParams(params, flags): Promise<void> {
      checkFlags(flags, RESTORE_FLAGS | VIR_DOMAIN_SAVE_PARALLEL, 'qemuDomainRestoreParams', ErrorDomain.QEMU);
      const opts = resolveSaveOptions(params, flags, ErrorDomain.QEMU);
      await restore(opts.file, opts.dxml, flags, opts.channelsParam, opts.instant);
    },
    domainSaveImageGetXMLDesc: async (file, flags) => imageXML(file, flags, 'qemuDomainSaveImageGetXMLDesc'),
    domainSaveImageDefineXML: async (file, dxml, flags) => defineImageXML(file, dxml, flags, 'qemuDomainSaveImageDefineXML'),
    domainManagedSaveGetXMLDesc: async (dom, flags) => imageXML(managedImage(dom), flags, 'qemuDomainManagedSaveGetXMLDesc'),
    domainManagedSaveDefineXML: async (dom, dxml, flags) => defineImageXML(managedImage(dom), dxml, flags, 'qemuDomainManagedSaveDefineXML'),
    async domainManagedSave(dom, flags): Promise<void> {
      checkFlags(flags, SAVE_FLAGS, 'qemuDomainManagedSave', ErrorDomain.QEMU);
      await save(dom, undefined, resolveSaveOptions([], flags));
    },
    async domainHasManagedSaveImage(dom, flags): Promise<boolean> {
      checkFlags(flags, 0, 'qemuDomainHasManagedSaveImage', ErrorDomain.QEMU);
      return existsSync(st.managedSavePath(st.resolve(dom)));
    },
    async domainManagedSaveRemove(dom, flags): Promise<void> {
      checkFlags(flags, 0, 'qemuDomainManagedSaveRemove', ErrorDomain.QEMU);
      const path = st.managedSavePath(st.resolve(dom));
      refuseIfMapped(path, 'remove the managed save image');
      await removeSaveImageFiles(path, ErrorDomain.QEMU);
    },
    async domainGetJobInfo(dom): Promise<JobInfo> {
      const d = st.resolve(dom);
      await refreshSaveProgress(d);
      return st.jobs.info(dom);
    },
    async domainGetJobStats(dom, flags): Promise<JobStats> {
      checkFlags(flags, 0x3, 'qemuDomainGetJobStats', ErrorDomain.QEMU);
      await refreshSaveProgress(st.resolve(dom));
      return st.jobs.stats(dom, flags);
    },
    async domainAbortJob(dom, flags): Promise<void> {
      checkFlags(flags, 0, 'qemuDomainAbortJobFlags', ErrorDomain.QEMU);
      st.resolve(dom);
      st.jobs.abort(dom);
    },
    async connectDomainEventRegisterAny(eventId, dom, cb): Promise<number> {
      if (dom) st.resolve(dom);
      const id = st.events.register(eventId, dom, cb);
      callbackIds.add(id);
      return id;
    },
    async connectDomainEventDeregisterAny(id): Promise<void> {
      if (!callbackIds.has(id)) {
        throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `could not find event callback ${id} for deletion`);
      }
      st.events.deregister(id);
      callbackIds.delete(id);
    },
    domainGetAutostart: async (dom) => getAutostart(st, st.resolve(dom)),
    domainSetAutostart: async (dom, on) => setAutostart(st, dom, on),
    // No security driver: libvirt's QEMU driver with security_driver = "none" reports this.
    nodeGetSecurityModel: async () => ({ model: 'none', doi: '0' }),
    async domainGetSecurityLabel(dom): Promise<SecurityLabel> {
      st.resolve(dom);
      return { label: '', enforcing: false };
    },
  };
}
