/**
 * libvirt's QEMU post-parse defaults outside `<devices>`: the versioned machine type, the boot
 * device, the default CPU model (qemu64 under TCG) and the clock.
 */

import { attr, child, children, element, setAttr, type XmlElement } from '../../../conf/xml-tree';
import { insertTopLevel, type DomainDef } from '../../../conf/domain-xml';
import { resolveMachineType } from './machine-types';

/** Resolves the machine alias and adds `<boot dev='hd'/>` when nothing says what to boot. */
export function defaultOs(def: DomainDef, emulator: string, root: XmlElement): void {
  def.os.arch = def.os.arch ?? 'x86_64';
  def.os.machine = resolveMachineType(emulator, def.os.machine);
  const os = child(root, 'os');
  if (!os) return;
  const devs = child(root, 'devices');
  const perDevice = devs ? children(devs).some((d) => child(d, 'boot')) : false;
  // libvirt boots from the first disk unless the XML names boot devices, per device or in <os>.
  if (!perDevice && children(os, 'boot').length === 0) {
    os.children.push(element('boot', [['dev', 'hd']]));
  }
}

/** `<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>`. */
export function defaultCpu(def: DomainDef, root: XmlElement): void {
  let cpu = child(root, 'cpu');
  if (!cpu) {
    if (def.type !== 'qemu') return;
    cpu = insertTopLevel(root, element('cpu', [['mode', 'custom'], ['match', 'exact'], ['check', 'none']]));
    cpu.children.push(element('model', [['fallback', 'forbid']], 'qemu64'));
    return;
  }
  const mode = attr(cpu, 'mode') ?? 'custom';
  if (mode !== 'custom') return;
  const model = child(cpu, 'model');
  if (!model) return;
  // A user's custom model keeps match and gains check='none' and fallback='allow', as libvirt writes.
  cpu.attrs = [['mode', 'custom'], ['match', attr(cpu, 'match') ?? 'exact'], ['check', attr(cpu, 'check') ?? 'none'],
    ...cpu.attrs.filter(([k]) => !['mode', 'match', 'check'].includes(k))];
  if (attr(model, 'fallback') === undefined) model.attrs.unshift(['fallback', 'allow']);
}

/** `<clock offset='utc'/>` when the XML has no clock. */
export function defaultClock(root: XmlElement): void {
  const clock = child(root, 'clock');
  if (!clock) insertTopLevel(root, element('clock', [['offset', 'utc']]));
  else if (attr(clock, 'offset') === undefined) setAttr(clock, 'offset', 'utc');
}
