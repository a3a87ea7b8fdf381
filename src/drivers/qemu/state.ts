/**
 * The QEMU driver's per-process state for one URI (session or system): domains, jobs, events.
 * Connections of one process share it (refcounted); other processes find the same guests through
 * the config and status files, so every open reconciles memory with what is on disk.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cloneDomainDef, formatDomainXML, parseDomainXML, type DomainDef } from '../../conf/domain-xml';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { DomainEventHub } from '../common/event-hub';
import { DomainJobs } from '../common/domain-job';
import { DomainEventType, DomainState, EventDetail, ShutoffReason, type DomainRef } from '../types';
import type { QemuDomain, QemuProcess } from './domain-obj';
import type { QmpClient, QmpEvent } from './qmp';
import { runFiles, type QemuPaths } from './paths';
import { removeStatus, writeStatus } from './status-file';

const log = moduleLogger('qemu-state');

/** Domains and services of one QEMU driver URI in this process. */
export class QemuDriverState {
  readonly domains: QemuDomain[] = [];
  readonly jobs = new DomainJobs(ErrorDomain.QEMU);
  readonly events = new DomainEventHub(ErrorDomain.QEMU);
  /** Open connections using this state. */
  refs = 0;
  private nextId = 1;

  /** @param paths the directories of this URI. */
  constructor(readonly paths: QemuPaths) {
    for (const dir of [paths.configDir, paths.saveDir, paths.runDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** The DomainRef callers see. */
  ref(d: QemuDomain): DomainRef {
    return { name: d.def.name, uuid: d.def.uuid, id: d.id };
  }

  /** True when the domain has a QEMU process. */
  isActive(d: QemuDomain): boolean {
    return d.state !== DomainState.SHUTOFF;
  }

  private notFound(detail: string): VirError {
    return VirError.report(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, detail);
  }

  /** Lookup by name; NO_DOMAIN "no domain with matching name 'X'". */
  byName(name: string): QemuDomain {
    const d = this.domains.find((x) => x.def.name === name);
    if (!d) throw this.notFound(`no domain with matching name '${name}'`);
    return d;
  }

  /** Lookup by UUID. */
  byUuid(uuid: string): QemuDomain {
    const d = this.domains.find((x) => x.def.uuid === uuid.toLowerCase());
    if (!d) throw this.notFound(`no domain with matching uuid '${uuid}'`);
    return d;
  }

  /** Lookup of an active domain by id. */
  byId(id: number): QemuDomain {
    const d = this.domains.find((x) => x.id === id && this.isActive(x));
    if (!d) throw this.notFound(`no domain with matching id ${id}`);
    return d;
  }

  /** Resolves a handle by UUID, as libvirt's qemuDomainObjFromDomain does. */
  resolve(dom: DomainRef): QemuDomain {
    const d = this.domains.find((x) => x.def.uuid === dom.uuid);
    if (!d) throw this.notFound(`no domain with matching uuid '${dom.uuid}' (${dom.name})`);
    return d;
  }

  /** Finds a domain by UUID or name without raising. */
  find(name: string, uuid: string): QemuDomain | undefined {
    return this.domains.find((x) => x.def.uuid === uuid) ?? this.domains.find((x) => x.def.name === name);
  }

  /**
   * Adds a definition or matches it to an existing domain with libvirt's virDomainObjListAdd
   * rules (same name with another UUID, or the reverse, is OPERATION_FAILED).
   */
  addOrMatch(def: DomainDef): { dom: QemuDomain; added: boolean } {
    const sameUuid = this.domains.find((x) => x.def.uuid === def.uuid);
    if (sameUuid) {
      if (sameUuid.def.name !== def.name) {
        throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `domain '${sameUuid.def.name}' is already defined with uuid ${def.uuid}`);
      }
      return { dom: sameUuid, added: false };
    }
    const sameName = this.domains.find((x) => x.def.name === def.name);
    if (sameName) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `domain '${def.name}' already exists with uuid ${sameName.def.uuid}`);
    }
    const dom: QemuDomain = { def: cloneDomainDef(def), persistent: false, state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN, id: -1 };
    this.domains.push(dom);
    return { dom, added: true };
  }

  /** Forgets a domain. */
  remove(d: QemuDomain): void {
    const i = this.domains.indexOf(d);
    if (i >= 0) this.domains.splice(i, 1);
  }

  /** A fresh runtime id (ids of guests found on disk are never reused). */
  allocateId(): number {
    return this.nextId++;
  }

  /** Notes an id seen in a status file. */
  noteId(id: number): void {
    if (id >= this.nextId) this.nextId = id + 1;
  }

  /** Queues a lifecycle event. */
  emit(d: QemuDomain, event: DomainEventType, detail: number): void {
    this.events.emit({ domain: this.ref(d), event, detail });
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

  /** Removes a persistent config. */
  deleteConfig(name: string): void {
    rmSync(this.configPath(name), { force: true });
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
      } catch (err) {
        log.warn({ file: f, err: (err as Error).message }, 'skipping unreadable domain config');
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
    });
  }

  /** Hooks QMP events of a guest's monitor to state changes and lifecycle events. */
  watchMonitor(d: QemuDomain, qmp: QmpClient): void {
    qmp.on('event', (ev: QmpEvent) => {
      if (ev.event === 'SHUTDOWN' && d.proc?.qmp === qmp && !d.proc.stopping) {
        d.proc.stopping = true;
        this.markStopped(d, ShutoffReason.SHUTDOWN, EventDetail.stopped.SHUTDOWN);
      }
    });
    qmp.on('closed', () => {
      if (d.proc?.qmp !== qmp || d.proc.stopping) return;
      // The monitor died without us stopping QEMU: it crashed or was killed.
      log.warn({ domain: d.def.name }, 'QEMU monitor closed unexpectedly');
      this.markStopped(d, ShutoffReason.CRASHED, EventDetail.stopped.FAILED);
    });
  }

  /**
   * Records that the guest's process is gone: shut off with `reason`, files removed, a transient
   * domain forgotten, a pending definition applied, STOPPED emitted.
   */
  markStopped(d: QemuDomain, reason: ShutoffReason, detail: number): void {
    const ev = this.ref(d);
    const proc: QemuProcess | undefined = d.proc;
    d.proc = undefined;
    if (proc?.qmp && !proc.qmp.closed) void proc.qmp.close();
    const files = runFiles(this.paths, d.def.uuid);
    removeStatus(files.status);
    rmSync(files.monitor, { force: true });
    d.state = DomainState.SHUTOFF;
    d.reason = reason;
    d.id = -1;
    if (d.nextDef) {
      d.def = d.nextDef;
      d.nextDef = undefined;
    }
    if (!d.persistent) this.remove(d);
    this.events.emit({ domain: ev, event: DomainEventType.STOPPED, detail });
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

/** Drops a reference; the last one closes monitors (guests keep running) and forgets the state. */
export async function releaseState(st: QemuDriverState): Promise<void> {
  st.refs--;
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
