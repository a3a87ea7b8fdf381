/**
 * Test driver domain lifecycle: define, create, undefine, start, destroy, suspend, resume and
 * the read-only queries, with libvirt's test driver errors and event details.
 */
import { access } from 'node:fs/promises';
import { cloneDomainDef, formatDomainXML, parseDomainXML } from '../../conf/domain-xml';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { DomainXMLFlags, UndefineFlags } from '../common/domain-flags';
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
import { removeSaveImageFiles } from '../../conf/save-image';
import type { TestState, TestDomain } from './state';

function invalid(detail: string, domain = ErrorDomain.TEST): VirError {
  return VirError.report(ErrorCode.OPERATION_INVALID, domain, detail);
}

/** Raises OPERATION_INVALID "domain is not running" (domain DOMAIN) for an inactive domain. */
export function requireActive(state: TestState, d: TestDomain): void {
  if (!state.isActive(d)) throw invalid('domain is not running', ErrorDomain.DOMAIN);
}

/** True when the domain has a managed save image on disk. */
export async function hasManagedSaveFile(state: TestState, d: TestDomain): Promise<boolean> {
  try {
    await access(state.managedSavePath(d));
    return true;
  } catch {
    return false;
  }
}

/** virDomainDefineXMLFlags. */
export function defineXML(state: TestState, xml: string, flags: number): DomainRef {
  checkFlags(flags, 1 /* VALIDATE */, 'testDomainDefineXMLFlags', ErrorDomain.TEST);
  const def = parseDomainXML(xml);
  const { dom, added } = state.addOrMatch(def);
  const wasPersistent = dom.persistent;
  if (state.isActive(dom)) dom.nextDef = cloneDomainDef(def);
  else dom.def = cloneDomainDef(def);
  dom.persistent = true;
  state.emit(dom, DomainEventType.DEFINED, added || !wasPersistent ? EventDetail.defined.ADDED : EventDetail.defined.UPDATED);
  return state.ref(dom);
}

/** virDomainCreateXML: a transient domain, started at once. */
export function createXML(state: TestState, xml: string, flags: number): DomainRef {
  checkFlags(flags, 0x3 /* PAUSED | AUTODESTROY */, 'testDomainCreateXML', ErrorDomain.TEST);
  const def = parseDomainXML(xml);
  const existing = state.find(def.name, def.uuid);
  if (existing && state.isActive(existing)) throw invalid(`domain '${existing.def.name}' is already active`);
  const { dom } = state.addOrMatch(def);
  if (dom.persistent) dom.nextDef = dom.def;
  dom.def = cloneDomainDef(def);
  startDomain(state, dom, flags & 1 ? 'paused' : 'running');
  return state.ref(dom);
}

function startDomain(state: TestState, d: TestDomain, how: 'running' | 'paused'): void {
  if (how === 'paused') {
    state.start(d, PausedReason.USER, DomainState.PAUSED);
    state.emit(d, DomainEventType.STARTED, EventDetail.started.BOOTED);
    state.emit(d, DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED);
  } else {
    state.start(d, RunningReason.BOOTED);
    state.emit(d, DomainEventType.STARTED, EventDetail.started.BOOTED);
  }
}

/** virDomainUndefineFlags: a running domain becomes transient. */
export async function undefine(state: TestState, ref: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, 0x1f, 'testDomainUndefineFlags', ErrorDomain.TEST);
  const d = state.resolve(ref);
  if (!d.persistent) throw invalid('cannot undefine transient domain');
  if (await hasManagedSaveFile(state, d)) {
    if (!(flags & UndefineFlags.MANAGED_SAVE)) {
      throw invalid('Refusing to undefine while domain managed save image exists');
    }
    await removeSaveImageFiles(state.managedSavePath(d), ErrorDomain.TEST);
  }
  state.emit(d, DomainEventType.UNDEFINED, EventDetail.undefined.REMOVED);
  d.nextDef = undefined;
  if (state.isActive(d)) d.persistent = false;
  else state.remove(d);
}

/** virDomainCreateWithFlags for a domain without a managed save image. */
export function boot(state: TestState, d: TestDomain, flags: number): DomainRef {
  if (state.isActive(d)) throw invalid('domain is already running');
  startDomain(state, d, flags & 1 ? 'paused' : 'running');
  return state.ref(d);
}

/** virDomainDestroyFlags; a running job on the domain is aborted first. */
export function destroy(state: TestState, ref: DomainRef, flags: number): void {
  checkFlags(flags, 0x3 /* GRACEFUL | REMOVE_LOGS */, 'testDomainDestroyFlags', ErrorDomain.TEST);
  const d = state.resolve(ref);
  requireActive(state, d);
  if (state.jobs.isActive(ref)) state.jobs.abort(ref);
  const ev = state.ref(d);
  state.stop(d, ShutoffReason.DESTROYED);
  state.events.emit({ domain: ev, event: DomainEventType.STOPPED, detail: EventDetail.stopped.DESTROYED });
}

/** virDomainSuspend: INTERNAL_ERROR "domain 'X' not running" unless running, as libvirt's test driver. */
export function suspend(state: TestState, ref: DomainRef): void {
  const d = state.resolve(ref);
  if (d.state === DomainState.SHUTOFF || d.state === DomainState.PAUSED) {
    throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST, `domain '${d.def.name}' not running`);
  }
  d.state = DomainState.PAUSED;
  d.reason = PausedReason.USER;
  state.emit(d, DomainEventType.SUSPENDED, EventDetail.suspended.PAUSED);
}

/** virDomainResume: INTERNAL_ERROR "domain 'X' not paused" unless paused. */
export function resume(state: TestState, ref: DomainRef): void {
  const d = state.resolve(ref);
  if (d.state !== DomainState.PAUSED) {
    throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST, `domain '${d.def.name}' not paused`);
  }
  if (state.jobs.isActive(ref)) throw invalid('domain has an active job');
  d.state = DomainState.RUNNING;
  d.reason = RunningReason.UNPAUSED;
  state.emit(d, DomainEventType.RESUMED, EventDetail.resumed.UNPAUSED);
}

/** virDomainGetInfo; CPU time grows with wall time while the domain runs, as in libvirt's test driver. */
export function getInfo(state: TestState, ref: DomainRef): DomainInfo {
  const d = state.resolve(ref);
  return {
    state: d.state,
    maxMem: d.def.memory,
    memory: d.def.currentMemory,
    nrVirtCpu: d.def.vcpu,
    cpuTime: state.isActive(d) ? BigInt(Date.now()) * 1000000n : 0n,
  };
}

/** virDomainGetState. */
export function getState(state: TestState, ref: DomainRef, flags: number): DomainStateInfo {
  checkFlags(flags, 0, 'testDomainGetState', ErrorDomain.TEST);
  const d = state.resolve(ref);
  return { state: d.state, reason: d.reason };
}

/** virDomainGetXMLDesc: live XML with id, or INACTIVE (the pending definition if any). */
export function getXMLDesc(state: TestState, ref: DomainRef, flags: number): string {
  checkFlags(flags, 0xf, 'testDomainGetXMLDesc', ErrorDomain.TEST);
  const d = state.resolve(ref);
  if (flags & DomainXMLFlags.INACTIVE) return formatDomainXML(d.nextDef ?? d.def, { inactive: true });
  return formatDomainXML(d.def, { id: state.isActive(d) ? d.id : undefined });
}

/** virConnectListAllDomains with libvirt's filter groups. */
export async function listAll(state: TestState, flags: number): Promise<DomainRef[]> {
  checkFlags(flags, 0xfff, 'testConnectListAllDomains', ErrorDomain.TEST);
  return state.list(flags, (d) => hasManagedSaveFile(state, d));
}
