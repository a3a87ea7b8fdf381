/**
 * Test driver shutdown, reboot and reset, as libvirt's test driver does them: the "guest" obeys
 * at once, so shutdown stops the domain (reason SHUTDOWN), reboot leaves it running (reason
 * BOOTED, same id) and reset changes nothing visible; each needs a running domain.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { PowerFlags } from '../common/domain-flags';
import { DomainEventType, DomainState, EventDetail, RunningReason, ShutoffReason, type DomainRef } from '../types';
import type { TestDomain, TestState } from './state';

/** Every VIR_DOMAIN_SHUTDOWN_* / REBOOT_* method: the test guest honours any of them. */
const ALL_METHODS = PowerFlags.ACPI_POWER_BTN | PowerFlags.GUEST_AGENT | PowerFlags.INITCTL | PowerFlags.SIGNAL | PowerFlags.PARAVIRT;

function running(state: TestState, ref: DomainRef): TestDomain {
  const d = state.resolve(ref);
  if (d.state === DomainState.SHUTOFF) {
    throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.TEST, `domain '${d.def.name}' not running`);
  }
  return d;
}

/** virDomainShutdownFlags. */
export function shutdown(state: TestState, ref: DomainRef, flags: number): void {
  checkFlags(flags, ALL_METHODS, 'testDomainShutdownFlags', ErrorDomain.TEST);
  const d = running(state, ref);
  if (state.jobs.isActive(ref)) throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.TEST, 'domain has an active job');
  const ev = state.ref(d);
  state.stop(d, ShutoffReason.SHUTDOWN);
  state.events.emit({ domain: ev, event: DomainEventType.STOPPED, detail: EventDetail.stopped.SHUTDOWN });
}

/** virDomainReboot: the domain keeps its id and runs again from boot. */
export function reboot(state: TestState, ref: DomainRef, flags: number): void {
  checkFlags(flags, ALL_METHODS, 'testDomainReboot', ErrorDomain.TEST);
  const d = running(state, ref);
  d.state = DomainState.RUNNING;
  d.reason = RunningReason.BOOTED;
}

/** virDomainReset. */
export function reset(state: TestState, ref: DomainRef, flags: number): void {
  checkFlags(flags, 0, 'testDomainReset', ErrorDomain.TEST);
  running(state, ref);
}
