/**
 * QEMU shutdown, reboot and reset as libvirt's QEMU driver does them without a guest agent:
 * shutdown presses the ACPI power button (`system_powerdown`) and returns; reset is
 * `system_reset`; reboot is libvirt's "fake reboot": the power button, with QEMU told to pause
 * instead of exiting when the guest powers off, then `system_reset` + `cont` on that SHUTDOWN,
 * so the domain keeps its process and id through the reboot.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { formatCapabilitiesXML, type GuestCaps } from '../../conf/capabilities-xml';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { PowerFlags } from '../common/domain-flags';
import type { DomainRef } from '../types';
import { EMULATORS } from './command-line';
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

function machinesOf(emulator: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(emulator, ['-machine', 'help'], { encoding: 'utf8', timeout: 10_000 }, (err, out) => {
      // "pc-i440fx-7.2          Standard PC ... " lines after a header line.
      resolve(err ? [] : out.split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter((m) => m && m !== 'none'));
    });
  });
}

let capsCache: Promise<string> | undefined;

/** virConnectGetCapabilities: the emulators installed, each with the machine types it lists. */
export function capabilitiesXML(): Promise<string> {
  capsCache ??= (async () => {
    const kvm = existsSync('/dev/kvm');
    const guests: GuestCaps[] = [];
    for (const [arch, emulator] of Object.entries(EMULATORS)) {
      if (!existsSync(emulator)) continue;
      const wordsize = arch === 'x86_64' ? 64 : 32;
      guests.push({ osType: 'hvm', arch, wordsize, emulator, machines: await machinesOf(emulator), domainTypes: kvm ? ['qemu', 'kvm'] : ['qemu'] });
    }
    return formatCapabilitiesXML({ arch: process.arch === 'x64' ? 'x86_64' : process.arch, cpus: cpus().length, memoryKiB: Math.floor(totalmem() / 1024) }, guests);
  })();
  return capsCache;
}
