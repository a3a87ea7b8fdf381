/**
 * The QEMU driver's per-process state for one URI (session or system): domains, jobs, events.
 * Connections of one process share it (refcounted); other processes find the same guests through
 * the config and status files, so every open reconciles memory with what is on disk.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { formatDomainXML, parseDomainXML, type DomainDef } from '../../conf/domain-xml';
import { ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { DomainRegistry } from '../common/domain-registry';
import type { ActiveJob } from '../common/domain-job';
import { DomainEventId, DomainEventType, DomainState, EventDetail, PausedReason, RunningReason, ShutoffReason } from '../types';
import type { QemuDomain, QemuProcess } from './domain-obj';
import type { QmpClient, QmpEvent } from './qmp';
import { runFiles, type QemuPaths } from './paths';
import { removeStatus, writeStatus } from './status-file';

const log = moduleLogger('qemu-state');

/** Domains and services of one QEMU driver URI in this process. */
export class QemuDriverState extends DomainRegistry<QemuDomain> {
  /** Open connections using this state. */
  refs = 0;
  /** Saves (and other jobs) in flight: the state outlives its connections until they end. */
  private readonly operations = new Set<Promise<unknown>>();

  /**
   * Runs `work` as an operation that outlives the connection that asked for it, as a libvirt job
   * outlives its client: closing the last connection does not close the guest monitors under it.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.operations.add(work);
    const forget = (): void => void this.operations.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** True while a tracked operation runs. */
  get busy(): boolean {
    return this.operations.size > 0;
  }

  /** Settles once no tracked operation runs. */
  async idle(): Promise<void> {
    while (this.operations.size > 0) await Promise.allSettled([...this.operations]);
  }

  /** @param paths the directories of this URI. */
  constructor(readonly paths: QemuPaths) {
    super(ErrorDomain.QEMU);
    for (const dir of [paths.configDir, paths.saveDir, paths.runDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Path of a persistent config. */
  configPath(name: string): string {
    return join(this.paths.configDir, `${name}.xml`);
  }

  /** Writes a persistent config atomically. */
  saveConfig(def: DomainDef): void {
    const path = this.configPath(def.name);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, formatDomainXML(def, { inactive: true }), { mode: 0o600 });
    renameSync(tmp, path);
  }

  /** The autostart link of a persistent config (see autostart.ts). */
  autostartPath(name: string): string {
    return join(this.paths.configDir, 'autostart', `${name}.xml`);
  }

  /** Removes a persistent config, and its autostart mark as libvirt does on undefine. */
  deleteConfig(name: string): void {
    rmSync(this.configPath(name), { force: true });
    rmSync(this.autostartPath(name), { force: true });
  }

  /** The managed save image of a domain. */
  managedSavePath(d: QemuDomain): string {
    return join(this.paths.saveDir, `${d.def.name}.save`);
  }

  /** Reads every persistent config; a broken file is logged and skipped (libvirt does too). */
  loadConfigs(): void {
    for (const f of readdirSync(this.paths.configDir)) {
      if (!f.endsWith('.xml')) continue;
      try {
        const def = parseDomainXML(readFileSync(join(this.paths.configDir, f), 'utf8'));
        const known = this.find(def.name, def.uuid);
        if (known) {
          known.persistent = true;
          if (this.isActive(known)) known.nextDef = def;
          continue;
        }
        const { dom } = this.addOrMatch(def);
        dom.persistent = true;
        dom.reason = readShutoffReason(runFiles(this.paths, def.uuid).shutoff);
      } catch (err) {
        log.warn({ file: f, err: (err as Error).message }, 'skipping unreadable domain config');
      }
    }
  }

  /**
   * Takes the shut-off reasons another process recorded (a guest it saved or stopped after this
   * process last looked), so every open reports what the run dir says.
   */
  refreshShutoffReasons(): void {
    for (const d of this.domains) {
      if (d.proc || !d.persistent) continue;
      const file = runFiles(this.paths, d.def.uuid).shutoff;
      if (existsSync(file)) {
        d.state = DomainState.SHUTOFF;
        d.reason = readShutoffReason(file);
      }
    }
  }

  /** Writes the status file of an active domain. */
  persistStatus(d: QemuDomain): void {
    if (!d.proc) return;
    writeStatus(runFiles(this.paths, d.def.uuid).status, {
      version: 1,
      name: d.def.name,
      uuid: d.def.uuid,
      id: d.id,
      pid: d.proc.pid,
      monitor: d.proc.monitorPath,
      state: d.state,
      reason: d.reason,
      xml: formatDomainXML(d.def, { id: d.id }),
      emulator: d.proc.emulator,
      save: d.save,
      autoDestroyOwner: d.autoDestroyOwner,
    });
  }

  /**
   * Hooks QMP events of a guest's monitor to state changes and domain events, as libvirt's QEMU
   * driver does: SHUTDOWN -> lifecycle "shutdown" (then "stopped" when QEMU ends), RESET ->
   * reboot, and STOP/RESUME the driver did not ask for (a monitor command, a guest error) ->
   * suspended/resumed.
   */
  watchMonitor(d: QemuDomain, qmp: QmpClient): void {
    qmp.on('event', (ev: QmpEvent) => {
      const mine = d.proc?.qmp === qmp;
      switch (ev.event) {
        case 'SHUTDOWN':
          if (d.proc?.fakeReboot) {
            // A reboot's power-off: power.ts resets and resumes the guest, which keeps running.
            d.proc.fakeReboot = false;
            return;
          }
          if (!mine || d.proc!.stopping) return;
          this.emit(d, DomainEventType.SHUTDOWN, shutdownDetail(ev));
          d.proc!.stopping = true;
          this.markStopped(d, ShutoffReason.SHUTDOWN, EventDetail.stopped.SHUTDOWN);
          return;
        case 'RESET':
          if (mine) this.events.raise({ eventId: DomainEventId.REBOOT, domain: this.ref(d) });
          return;
        case 'STOP':
          if (mine && !d.proc!.cpuCommands && !d.proc!.fakeReboot && d.state === DomainState.RUNNING) {
            this.changeCpuState(d, DomainState.PAUSED, PausedReason.UNKNOWN, DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED);
          }
          return;
        case 'RESUME':
          if (mine && !d.proc!.cpuCommands && d.state === DomainState.PAUSED) {
            this.changeCpuState(d, DomainState.RUNNING, RunningReason.UNPAUSED, DomainEventType.RESUMED, EventDetail.resumed.UNPAUSED);
          }
          return;
      }
    });
    qmp.on('closed', () => {
      if (d.proc?.qmp !== qmp || d.proc.stopping) return;
      // The monitor died without us stopping QEMU: it crashed or was killed.
      log.warn({ domain: d.def.name }, 'QEMU monitor closed unexpectedly');
      this.markStopped(d, ShutoffReason.CRASHED, EventDetail.stopped.FAILED);
    });
  }

  private changeCpuState(d: QemuDomain, state: DomainState, reason: number, event: DomainEventType, detail: number): void {
    d.state = state;
    d.reason = reason;
    this.persistStatus(d);
    this.emit(d, event, detail);
  }

  /** Raises job-completed for a job that just finished successfully, with its statistics. */
  emitJobCompleted(d: QemuDomain, job: ActiveJob): void {
    this.events.raise({ eventId: DomainEventId.JOB_COMPLETED, domain: this.ref(d), params: job.completedParams() });
  }

  /**
   * Records that the guest's process is gone: shut off with `reason`, files removed, a transient
   * domain forgotten, a pending definition applied, STOPPED emitted.
   */
  markStopped(d: QemuDomain, reason: ShutoffReason, detail: number): void {
    const ev = this.ref(d);
    const proc: QemuProcess | undefined = d.proc;
    d.proc = undefined;
    d.autoDestroyOwner = undefined;
    if (proc?.qmp && !proc.qmp.closed) void proc.qmp.close();
    const files = runFiles(this.paths, d.def.uuid);
    removeStatus(files.status);
    rmSync(files.monitor, { force: true });
    rmSync(files.channels, { recursive: true, force: true });
    this.shutoff(d, reason);
    // Another process (the next tsvirsh, a restarted daemon) must still see "shut off (saved)".
    if (d.persistent) writeFileSync(files.shutoff, `${reason}\n`, { mode: 0o600 });
    this.events.emit({ domain: ev, event: DomainEventType.STOPPED, detail });
  }
}

/** The "shutdown" event detail of a QMP SHUTDOWN: who asked, when QEMU says (guest: true/false). */
function shutdownDetail(ev: QmpEvent): number {
  if (typeof ev.data?.guest !== 'boolean') return EventDetail.shutdown.FINISHED;
  return ev.data.guest ? EventDetail.shutdown.GUEST : EventDetail.shutdown.HOST;
}

/** The recorded reason an inactive domain stopped, or UNKNOWN. */
function readShutoffReason(path: string): number {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(n) && n >= 0 ? n : ShutoffReason.UNKNOWN;
  } catch {
    return ShutoffReason.UNKNOWN;
  }
}

const states = new Map<string, QemuDriverState>();

/** The shared state of `paths` in this process (created on first use). */
export function sharedState(paths: QemuPaths): { state: QemuDriverState; fresh: boolean } {
  const key = `${paths.configDir}|${paths.runDir}`;
  let st = states.get(key);
  const fresh = !st;
  if (!st) {
    st = new QemuDriverState(paths);
    states.set(key, st);
  }
  st.refs++;
  return { state: st, fresh };
}

/**
 * Drops a reference; the last one closes monitors (guests keep running) and forgets the state,
 * once the operations still running on it ended: a client that goes away mid-save does not take
 * the monitor from under the save, which then ends (resuming the guest on failure) by itself.
 * A connection opened meanwhile keeps using the same state.
 */
export async function releaseState(st: QemuDriverState): Promise<void> {
  st.refs--;
  if (st.refs > 0) return;
  if (st.busy) {
    void st.idle().then(() => closeUnused(st));
    return;
  }
  await closeUnused(st);
}

async function closeUnused(st: QemuDriverState): Promise<void> {
  if (st.refs > 0) return;
  for (const [k, v] of states) if (v === st) states.delete(k);
  for (const d of st.domains) {
    const qmp = d.proc?.qmp;
    if (qmp && !qmp.closed) {
      d.proc!.stopping = true;
      await qmp.close();
    }
  }
}

/** Every state of this process (for libvirt-qemu style helpers). */
export function allStates(): QemuDriverState[] {
  return [...states.values()];
}
