/**
 * QEMU shutdown, reboot and reset as libvirt's QEMU driver does them without a guest agent:
 * shutdown presses the ACPI power button (`system_powerdown`) and returns; reset is
 * `system_reset`; reboot is libvirt's "fake reboot": the power button, with QEMU told to pause
 * instead of exiting when the guest powers off, then `system_reset` + `cont` on that SHUTDOWN,
 * so the domain keeps its process and id through the reboot.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { PowerFlags } from '../common/domain-flags';
import type { DomainRef } from '../types';
import type { QemuDomain } from './domain-obj';
import { cpuCommand, monitorOf, requireActive, requireNoJob } from './lifecycle';
import type { QemuDriverState } from './state';

const log = moduleLogger('qemu-power');

/** Methods tsvirt's QEMU driver has: the ACPI power button only (no guest agent channel). */
const METHODS = PowerFlags.ACPI_POWER_BTN;

function running(st: QemuDriverState, ref: DomainRef, flags: number, fn: string): QemuDomain {
  checkFlags(flags, METHODS | PowerFlags.GUEST_AGENT, fn, ErrorDomain.QEMU);
  if (flags & PowerFlags.GUEST_AGENT) {
    throw VirError.report(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.QEMU, 'QEMU guest agent is not configured');
  }
  const d = st.resolve(ref);
  requireActive(st, d);
  requireNoJob(st, d);
  return d;
}

/** virDomainShutdownFlags. */
export async function shutdown(st: QemuDriverState, ref: DomainRef, flags: number): Promise<void> {
  const d = running(st, ref, flags, 'qemuDomainShutdownFlags');
  await monitorOf(d).execute('system_powerdown');
}

/** virDomainReset. */
export async function reset(st: QemuDriverState, ref: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainReset', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  requireActive(st, d);
  await monitorOf(d).execute('system_reset');
}

/** virDomainReboot (ACPI, fake reboot). */
export async function reboot(st: QemuDriverState, ref: DomainRef, flags: number): Promise<void> {
  const d = running(st, ref, flags, 'qemuDomainReboot');
  const qmp = monitorOf(d);
  // The guest's power-off must pause QEMU rather than end it, so the reboot can be finished here.
  await qmp.execute('set-action', { shutdown: 'pause' });
  const onEvent = (ev: { event: string }): void => {
    if (ev.event !== 'SHUTDOWN') return;
    qmp.removeListener('event', onEvent);
    void (async () => {
      await qmp.execute('system_reset');
      await qmp.execute('set-action', { shutdown: 'poweroff' });
      await cpuCommand(d, 'cont', qmp);
    })().catch((err) => log.warn({ domain: d.def.name, err: (err as Error).message }, 'fake reboot did not complete'));
  };
  if (d.proc) d.proc.fakeReboot = true;
  qmp.on('event', onEvent);
  try {
    await qmp.execute('system_powerdown');
  } catch (err) {
    qmp.removeListener('event', onEvent);
    if (d.proc) d.proc.fakeReboot = false;
    await qmp.execute('set-action', { shutdown: 'poweroff' }).catch(() => undefined);
    throw err;
  }
}
