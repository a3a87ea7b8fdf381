/**
 * libvirt's QEMU post-parse defaults, applied on define (and to any XML before it runs): what
 * `virsh dumpxml` shows for a guest the user described minimally, and what the command line is
 * built from, so the device model (ids, buses, addresses) is libvirt's for the same XML.
 */
import { deviceSummaries, type DomainDef } from '../../../conf/domain-xml';
import { devicesOf, sortDevices } from '../../../conf/domain/device-order';
import { child, element } from '../../../conf/xml-tree';
import { emulatorFor } from '../emulator';
import { defaultChardevs } from './chardev-defaults';
import { defaultControllers } from './controllers';
import { defaultInputs, defaultInterfaces, defaultMisc } from './device-defaults';
import { defaultDisks } from './disk-defaults';
import { defaultClock, defaultCpu, defaultOs } from './os-cpu-clock';
import { isQ35 } from './machine-types';
import { assignPcieAddresses } from './pcie-slots';
import { assignPciAddresses } from './pci-slots';

/**
 * Fills in libvirt's defaults in place. Idempotent: a definition that already carries them (one
 * libvirt or tsvirt wrote) is left as it is, so saved XML moves between the two unchanged.
 */
export function applyQemuDefaults(def: DomainDef): DomainDef {
  const root = def.tree;
  const devs = devicesOf(root);
  const emulator = emulatorFor(def);
  if (!child(devs, 'emulator')) devs.children.unshift(element('emulator', [], emulator));
  defaultOs(def, emulator, root);
  defaultCpu(def, root);
  defaultClock(root);
  defaultDisks(devs);
  const q35 = isQ35(def.os.machine);
  defaultControllers(devs, q35);
  defaultInterfaces(devs);
  defaultChardevs(devs);
  defaultInputs(devs);
  defaultMisc(devs);
  if (q35) assignPcieAddresses(devs);
  else assignPciAddresses(devs);
  sortDevices(devs);
  def.devices = deviceSummaries(root);
  return def;
}
