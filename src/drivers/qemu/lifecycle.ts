/**
 * QEMU driver lifecycle: define, undefine, start, createXML, destroy, suspend, resume and the
 * read-only queries, with libvirt's qemu driver errors and event details.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { removeSaveImageFiles } from '../../conf/save-image';
import { cloneDomainDef, formatDomainXML, parseDomainXML, type DomainDef } from '../../conf/domain-xml';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { CreateFlags, DomainXMLFlags, UndefineFlags } from '../common/domain-flags';
import {
  DomainEventType,
  DomainState,
  EventDetail,
  PausedReason,
  RunningReason,
  ShutoffReason,
  type DomainInfo,
  type DomainRef,
  type DomainStateInfo,
} from '../types';
import type { QemuDomain } from './domain-obj';
import { runFiles } from './paths';
import { refuseIfMapped } from './instant-restore';
import { launchQemu, type LaunchOptions } from './guest-process';
import { capabilitiesFor } from './capabilities';
import { processAlive, processCmdline, terminateProcess } from './process';
import { acquireDomainLock, type DomainLock } from './domain-lock';
import { readStatus } from './status-file';
import type { QemuDriverState } from './state';
import type { QmpClient } from './qmp';
import { buildQemuCommand } from './command-line';
import { applyQemuDefaults } from './domain-defaults';
import { dropGeneratedTapNames } from './tap-devices';
import { applyChannelPaths, recordLiveDetails } from './live-xml';
import { getAutostart } from './autostart';

function invalid(detail: string, domain = ErrorDomain.QEMU): VirError {
  return VirError.report(ErrorCode.OPERATION_INVALID, domain, detail);
}

/** OPERATION_INVALID "domain is not running" (domain DOMAIN, as libvirt's virDomainObjCheckActive). */
export function requireActive(st: QemuDriverState, d: QemuDomain): void {
  if (!st.isActive(d)) throw invalid('domain is not running', ErrorDomain.DOMAIN);
}

/** The monitor of an active domain, or OPERATION_FAILED when another process holds it. */
export function monitorOf(d: QemuDomain): QmpClient {
  const qmp = d.proc?.qmp;
  if (!qmp || qmp.closed) {
    throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `QEMU monitor of domain '${d.def.name}' is not available to this process`);
  }
  return qmp;
}

/** Refuses to change a domain while a job of this process runs on it. */
export function requireNoJob(st: QemuDriverState, d: QemuDomain): void {
  const job = d.job;
  if (job && st.jobs.isActive(st.ref(d))) {
    throw invalid(`another job (${job.name}) is already active on domain '${d.def.name}'`);
  }
}

/**
 * The pid of a QEMU that runs guest `uuid` for another process (or an earlier connection of this
 * one that no longer tracks it), read from the guest's status file; null when there is none.
 * A pid is only believed when its command line still names the guest (pids are reused).
 */
export function guestRunningElsewhere(st: QemuDriverState, uuid: string): number | null {
  const rec = readStatus(runFiles(st.paths, uuid).status);
  if (!rec || rec.uuid !== uuid || !processAlive(rec.pid)) return null;
  if (!processCmdline(rec.pid).includes(uuid)) return null;
  const known = st.domains.find((x) => x.def.uuid === uuid);
  return known?.proc?.pid === rec.pid && st.isActive(known) ? null : rec.pid;
}

/**
 * Takes the domain lock before a guest's QEMU is started (boot or restore) and makes sure no
 * process runs that guest already: spawning it again would replace the running guest's monitor
 * socket (the first QEMU would be unreachable) and share its disks. Raises OPERATION_INVALID
 * `busy` when it runs, or "... is locked by process N" while another start or save holds the
 * lock. The caller releases the lock once the new QEMU's status file is written.
 */
export function lockForStart(st: QemuDriverState, def: DomainDef, busy: string): DomainLock {
  const lock = acquireDomainLock(runFiles(st.paths, def.uuid).lock, `domain '${def.name}'`);
  const known = st.find(def.name, def.uuid);
  const elsewhere = guestRunningElsewhere(st, def.uuid);
  if ((known && st.isActive(known)) || elsewhere !== null) {
    lock.release();
    throw invalid(elsewhere !== null ? `${busy} (QEMU process ${elsewhere})` : busy);
  }
  return lock;
}

/** Parses XML for the QEMU driver: the definition must also translate to a command line. */
export function parseQemuDef(xml: string, st: QemuDriverState): DomainDef {
  // libvirt's QEMU defaults are part of the definition (dumpxml shows them, MACs stay fixed).
  const parsed = parseDomainXML(xml);
  dropGeneratedTapNames(parsed);
  const def = applyQemuDefaults(parsed);
  buildQemuCommand(def, { monitorPath: '/x', memoryDir: st.paths.runDir, kvmAvailable: true, channelDir: runFiles(st.paths, def.uuid).channels });
  return def;
}

/** virDomainDefineXMLFlags: writes the config file. */
export function defineXML(st: QemuDriverState, xml: string, flags: number): DomainRef {
  checkFlags(flags, 1 /* VALIDATE */, 'qemuDomainDefineXMLFlags', ErrorDomain.QEMU);
  const def = parseQemuDef(xml, st);
  const { dom, added } = st.addOrMatch(def);
  const wasPersistent = dom.persistent;
  st.saveConfig(def);
  if (st.isActive(dom)) dom.nextDef = cloneDomainDef(def);
  else dom.def = cloneDomainDef(def);
  dom.persistent = true;
  st.emit(dom, DomainEventType.DEFINED, added || !wasPersistent ? EventDetail.defined.ADDED : EventDetail.defined.UPDATED);
  return st.ref(dom);
}

/**
 * Spawns QEMU for `d` (stopped at -S, monitor attached, status file written). The caller decides
 * whether to run the CPUs; the domain is PAUSED (reason `pausedReason`) until then.
 */
export async function spawnGuest(st: QemuDriverState, d: QemuDomain, opts: LaunchOptions, pausedReason: PausedReason): Promise<QmpClient> {
  // The live definition gains what the start chose (tap names, then pty paths); the persistent one must not.
  const persistent = d.persistent && !d.nextDef ? cloneDomainDef(d.def) : undefined;
  const launched = await launchQemu(st.paths, d.def, opts);
  if (persistent) d.nextDef = persistent;
  rmSync(runFiles(st.paths, d.def.uuid).shutoff, { force: true });
  d.proc = { pid: launched.pid, monitorPath: launched.monitorPath, emulator: launched.emulator, qmp: launched.qmp, stopping: false };
  d.id = st.allocateId();
  d.state = DomainState.PAUSED;
  d.reason = pausedReason;
  st.watchMonitor(d, launched.qmp);
  applyChannelPaths(d.def, runFiles(st.paths, d.def.uuid).channels);
  await recordLiveDetails(d.def, launched.qmp).catch(() => undefined);
  st.persistStatus(d);
  try {
    await capabilitiesFor(launched.emulator, launched.qmp);
  } catch (err) {
    await stopGuest(st, d, ShutoffReason.FAILED, EventDetail.stopped.FAILED);
    throw err;
  }
  return launched.qmp;
}

/**
 * Sends `stop` or `cont` as the driver's own command: the STOP/RESUME event it causes is not
 * mistaken for a pause or resume from elsewhere (see QemuDriverState.watchMonitor).
 */
export async function cpuCommand(d: QemuDomain, cmd: 'stop' | 'cont', qmp: QmpClient = monitorOf(d)): Promise<void> {
  const proc = d.proc;
  if (proc) proc.cpuCommands = (proc.cpuCommands ?? 0) + 1;
  try {
    await qmp.execute(cmd);
  } finally {
    if (proc) proc.cpuCommands = (proc.cpuCommands ?? 1) - 1;
  }
}

/** Runs the vCPUs with `cont`; RUNNING with `reason`. */
export async function startCpus(st: QemuDriverState, d: QemuDomain, reason: RunningReason): Promise<void> {
  await cpuCommand(d, 'cont');
  d.state = DomainState.RUNNING;
  d.reason = reason;
  st.persistStatus(d);
}

/** Kills QEMU (SIGTERM, then SIGKILL) and records the domain as shut off. */
export async function stopGuest(st: QemuDriverState, d: QemuDomain, reason: ShutoffReason, detail: number): Promise<void> {
  const proc = d.proc;
  if (proc) {
    proc.stopping = true;
    await terminateProcess(proc.pid);
  }
  st.markStopped(d, reason, detail);
}

/** Boots a domain (no managed save image): STARTED BOOTED, then RUNNING or PAUSED. */
export async function boot(st: QemuDriverState, d: QemuDomain, flags: number): Promise<void> {
  await spawnGuest(st, d, {}, PausedReason.USER);
  st.emit(d, DomainEventType.STARTED, EventDetail.started.BOOTED);
  if (flags & CreateFlags.START_PAUSED) {
    st.emit(d, DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED);
    return;
  }
  try {
    await startCpus(st, d, RunningReason.BOOTED);
  } catch (err) {
    await stopGuest(st, d, ShutoffReason.FAILED, EventDetail.stopped.FAILED);
    throw err;
  }
}

/**
 * virDomainCreateXML: a transient domain, started at once under the domain lock. The caller
 * handles START_AUTODESTROY (it belongs to the connection).
 */
export async function createXML(st: QemuDriverState, xml: string, flags: number): Promise<DomainRef> {
  checkFlags(flags, CreateFlags.START_PAUSED | CreateFlags.START_AUTODESTROY, 'qemuDomainCreateXML', ErrorDomain.QEMU);
  const def = parseQemuDef(xml, st);
  const existing = st.find(def.name, def.uuid);
  const busy = `domain '${existing?.def.name ?? def.name}' is already active`;
  if (existing && st.isActive(existing)) throw invalid(busy);
  const lock = lockForStart(st, def, busy);
  try {
    const { dom, added } = st.addOrMatch(def);
    const prevDef = dom.def;
    const prevNext = dom.nextDef;
    if (dom.persistent) dom.nextDef = dom.def;
    dom.def = cloneDomainDef(def);
    try {
      await boot(st, dom, flags & CreateFlags.START_PAUSED);
    } catch (err) {
      if (added && !st.isActive(dom)) st.remove(dom);
      else if (!st.isActive(dom)) {
        // A defined domain keeps its definition when the transient start failed.
        dom.def = prevDef;
        dom.nextDef = prevNext;
      }
      throw err;
    }
    return st.ref(dom);
  } finally {
    lock.release();
  }
}

/**
 * virDomainUndefineFlags: a running domain becomes transient. With MANAGED_SAVE the managed
 * image goes too, with the channel files (FILE.k) of a parallel one.
 */
export async function undefine(st: QemuDriverState, ref: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, 0x1f, 'qemuDomainUndefineFlags', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  if (!d.persistent) throw invalid('cannot undefine transient domain');
  const managed = st.managedSavePath(d);
  const hasImage = existsSync(managed);
  if (hasImage) {
    if (!(flags & UndefineFlags.MANAGED_SAVE)) throw invalid('Refusing to undefine while domain managed save image exists');
    refuseIfMapped(managed, 'remove the managed save image');
  }
  st.deleteConfig(d.def.name);
  if (hasImage) await removeSaveImageFiles(managed, ErrorDomain.QEMU);
  rmSync(runFiles(st.paths, d.def.uuid).shutoff, { force: true });
  st.emit(d, DomainEventType.UNDEFINED, EventDetail.undefined.REMOVED);
  d.nextDef = undefined;
  if (st.isActive(d)) d.persistent = false;
  else st.remove(d);
}

/** virDomainDestroyFlags: a running job is aborted first, then QEMU is killed. */
export async function destroy(st: QemuDriverState, ref: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, 0x3, 'qemuDomainDestroyFlags', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  requireActive(st, d);
  if (d.job && st.jobs.isActive(ref)) st.jobs.abort(ref);
  await stopGuest(st, d, ShutoffReason.DESTROYED, EventDetail.stopped.DESTROYED);
}

/** virDomainSuspend: `stop`, PAUSED (user). */
export async function suspend(st: QemuDriverState, ref: DomainRef): Promise<void> {
  const d = st.resolve(ref);
  requireActive(st, d);
  requireNoJob(st, d);
  if (d.state === DomainState.PAUSED) return;
  await cpuCommand(d, 'stop');
  d.state = DomainState.PAUSED;
  d.reason = PausedReason.USER;
  st.persistStatus(d);
  st.emit(d, DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED);
}

/** virDomainResume: `cont`, RUNNING (unpaused). */
export async function resume(st: QemuDriverState, ref: DomainRef): Promise<void> {
  const d = st.resolve(ref);
  requireActive(st, d);
  requireNoJob(st, d);
  if (d.state === DomainState.RUNNING) return;
  await startCpus(st, d, RunningReason.UNPAUSED);
  st.emit(d, DomainEventType.RESUMED, EventDetail.resumed.UNPAUSED);
}

function cpuTimeNs(pid: number | undefined): bigint {
  if (!pid) return 0n;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = BigInt(fields[11]) + BigInt(fields[12]);
    return ticks * 10_000_000n;
  } catch {
    return 0n;
  }
}

/** virDomainGetInfo. */
export function getInfo(st: QemuDriverState, ref: DomainRef): DomainInfo {
  const d = st.resolve(ref);
  return { state: d.state, maxMem: d.def.memory, memory: d.def.currentMemory, nrVirtCpu: d.def.vcpu, cpuTime: cpuTimeNs(d.proc?.pid) };
}

/** virDomainGetState. */
export function getState(st: QemuDriverState, ref: DomainRef, flags: number): DomainStateInfo {
  checkFlags(flags, 0, 'qemuDomainGetState', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  return { state: d.state, reason: d.reason };
}

/** virDomainGetXMLDesc (INACTIVE gives the persistent definition of a running domain). */
export function getXMLDesc(st: QemuDriverState, ref: DomainRef, flags: number): string {
  checkFlags(flags, 0xf, 'qemuDomainGetXMLDesc', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  if (flags & DomainXMLFlags.INACTIVE) return formatDomainXML(d.nextDef ?? d.def, { inactive: true });
  return formatDomainXML(d.def, { id: d.id });
}

/** virConnectListAllDomains with libvirt's filter groups. */
export function listAll(st: QemuDriverState, flags: number): Promise<DomainRef[]> {
  checkFlags(flags, 0x3fff, 'qemuConnectListAllDomains', ErrorDomain.QEMU);
  return st.list(
    flags,
    (d) => existsSync(st.managedSavePath(d)),
    (d) => getAutostart(st, d),
  );
}
