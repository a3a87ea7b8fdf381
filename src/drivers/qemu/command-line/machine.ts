/**
 * The machine-wide arguments: `-machine` (with libvirt's `usb=off,dump-guest-core=off`),
 * `-accel`, `-cpu`, `-smp`, `-rtc` and clock timers, ACPI (`-no-acpi` unless
 * `<features><acpi/>`), the direct kernel boot and `-boot strict=on`, and the guest's
 * power-off/reboot actions.
 */
import type { DomainDef } from '../../../conf/domain-xml';
import { attr, child, children, textOf, type XmlElement } from '../../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import { unsupported } from './args';

/** `<features>` children the x86 machines take (acpi switches ACPI on; the rest are defaults). */
const FEATURES = new Set(['acpi', 'apic', 'pae']);
const CPU_MODES = new Set(['custom', 'host-passthrough', 'host-model', 'maximum']);

/** `-accel`: TCG for `type='qemu'`, KVM for `type='kvm'` (CONFIG_UNSUPPORTED without /dev/kvm). */
export function accelOf(def: DomainDef, kvmAvailable: boolean): string {
  if (def.type === 'qemu') return 'tcg';
  if (def.type === 'kvm') {
    if (!kvmAvailable) throw unsupported('Domain requires KVM, but it is not available. Check that virtualization is enabled in the host BIOS, and host configuration is setup to load the kvm modules.');
    return 'kvm';
  }
  throw unsupported(`domain type '${def.type}' is not supported by the QEMU driver`);
}

/** True when `<features><acpi/>` asks for ACPI. */
export function acpiOn(root: XmlElement): boolean {
  const features = child(root, 'features');
  for (const el of features ? children(features) : []) {
    if (!FEATURES.has(el.name)) throw unsupported(`feature <${el.name}> is not supported`);
  }
  return !!(features && child(features, 'acpi'));
}

/** `-cpu`: the custom model, or `host` / `max` for the host modes. */
export function cpuArgs(def: DomainDef, accel: string): string[] {
  const cpu = child(def.tree, 'cpu');
  if (!cpu) return ['-cpu', 'qemu64'];
  const mode = attr(cpu, 'mode') ?? 'custom';
  if (!CPU_MODES.has(mode)) throw unsupported(`CPU mode '${mode}' is not supported`);
  for (const el of children(cpu)) {
    if (el.name !== 'model' && el.name !== 'topology') throw unsupported(`element <cpu/${el.name}> is not supported`);
  }
  if (mode === 'maximum') return ['-cpu', 'max'];
  if (mode === 'host-passthrough' || mode === 'host-model') {
    if (accel !== 'kvm') throw unsupported(`CPU mode '${mode}' for x86_64 qemu domain on x86_64 host is not supported by hypervisor`);
    return ['-cpu', 'host'];
  }
  const model = (textOf(child(cpu, 'model')) ?? '').trim();
  if (!model) throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, 'Missing CPU model name');
  if (!/^[A-Za-z0-9_.-]+$/.test(model)) throw unsupported(`CPU model '${model}' is not supported`);
  return ['-cpu', model];
}

/** `-smp N,sockets=,cores=,threads=` (one core per socket unless `<cpu><topology>` says). */
export function smpArgs(def: DomainDef): string[] {
  const topo = child(child(def.tree, 'cpu') ?? { name: 'cpu', attrs: [], children: [] }, 'topology');
  const cores = Number(attr(topo, 'cores') ?? 1);
  const threads = Number(attr(topo, 'threads') ?? 1);
  const sockets = Number(attr(topo, 'sockets') ?? def.vcpu / (cores * threads));
  if (!Number.isInteger(sockets) || sockets * cores * threads !== def.vcpu) {
    throw unsupported(`CPU topology doesn't match maximum vcpu count`);
  }
  return ['-smp', `${def.vcpu},sockets=${sockets},cores=${cores},threads=${threads}`];
}

/** `<clock>`: `-rtc base=utc|localtime` and the rtc/pit/hpet timers libvirt maps. */
export function clockArgs(root: XmlElement): string[] {
  const clock = child(root, 'clock');
  const offset = attr(clock, 'offset') ?? 'utc';
  if (offset !== 'utc' && offset !== 'localtime') throw unsupported(`clock offset '${offset}' is not supported`);
  let rtc = `base=${offset}`;
  const extra: string[] = [];
  for (const t of clock ? children(clock) : []) {
    const name = attr(t, 'name');
    const policy = attr(t, 'tickpolicy');
    if (t.name !== 'timer') throw unsupported(`element <clock/${t.name}> is not supported`);
    if (name === 'rtc' && policy === 'catchup') rtc += ',driftfix=slew';
    else if (name === 'pit' && policy === 'delay') extra.push('-global', 'kvm-pit.lost_tick_policy=delay');
    else if (name === 'hpet' && attr(t, 'present') === 'no') extra.push('-no-hpet');
    else if (name === 'hpet' && attr(t, 'present') === 'yes') continue;
    else throw unsupported(`clock timer '${name}'${policy ? ` with tickpolicy '${policy}'` : ''} is not supported`);
  }
  return ['-rtc', rtc, ...extra];
}

/**
 * `<on_poweroff>` / `<on_reboot>` / `<on_crash>`: QEMU exits when the guest powers off (destroy)
 * and resets on reboot (restart); `-action reboot=shutdown` makes a reboot end it (destroy).
 */
export function lifecycleArgs(def: DomainDef): string[] {
  for (const action of [def.onPoweroff, def.onReboot]) {
    // libvirt's own refusal for actions QEMU cannot carry out on power-off or reboot.
    if (action === 'preserve' || action.startsWith('coredump')) {
      throw unsupported(`qemu driver doesn't support the '${action}' action for 'on_reboot'/'on_poweroff'`);
    }
  }
  if (def.onPoweroff !== 'destroy') throw unsupported(`on_poweroff '${def.onPoweroff}' is not supported`);
  const actions: string[] = [];
  if (def.onReboot === 'destroy') actions.push('reboot=shutdown');
  else if (def.onReboot !== 'restart') throw unsupported(`on_reboot '${def.onReboot}' is not supported`);
  // A crash only reaches QEMU through a panic device, which tsvirt does not offer: nothing to map.
  if (!['destroy', 'restart', 'preserve'].includes(def.onCrash)) throw unsupported(`on_crash '${def.onCrash}' is not supported`);
  return actions.length ? ['-action', actions.join(',')] : [];
}

/** `<os>`: direct kernel boot and `-boot strict=on`; CONFIG_UNSUPPORTED for the rest. */
export function osArgs(root: XmlElement): string[] {
  const os = child(root, 'os');
  const out = ['-boot', 'strict=on'];
  for (const el of os ? children(os) : []) {
    if (el.name === 'type' || el.name === 'boot') continue;
    if (el.name === 'kernel' || el.name === 'initrd' || el.name === 'cmdline') {
      const text = (textOf(el) ?? '').trim();
      if (!text) continue;
      out.push(el.name === 'kernel' ? '-kernel' : el.name === 'initrd' ? '-initrd' : '-append', text);
      continue;
    }
    throw unsupported(`element <os/${el.name}> is not supported`);
  }
  if (os && !child(os, 'kernel') && (child(os, 'initrd') || child(os, 'cmdline'))) {
    throw unsupported('<initrd> and <cmdline> need <kernel>');
  }
  return out;
}
