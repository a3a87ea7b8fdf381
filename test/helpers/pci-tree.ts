/**
 * QEMU's PCI devices (QMP `query-pci`) as a flat, comparable list: each device by its path of
 * slot.function from the root bus through the bridges above it (bus numbers are the firmware's
 * to assign, and a guest stopped at -S has none yet), with its class and vendor/device ids and
 * its qdev id. Two guests with the same list have the same PCI topology.
 */

interface PciDevice {
  slot: number;
  function: number;
  class_info: { class: number };
  id: { vendor: number; device: number };
  qdev_id: string;
  pci_bridge?: { bus: { number: number }; devices?: PciDevice[] };
}

/** One device of the tree. */
export interface PciEntry {
  path: string;
  class: number;
  vendor: number;
  device: number;
  id: string;
}

function walk(devices: PciDevice[], prefix: string, out: PciEntry[]): void {
  for (const d of devices) {
    const path = `${prefix}${d.slot.toString(16).padStart(2, '0')}.${d.function}`;
    out.push({ path, class: d.class_info.class, vendor: d.id.vendor, device: d.id.device, id: d.qdev_id });
    if (d.pci_bridge?.devices) walk(d.pci_bridge.devices, `${path}/`, out);
  }
}

/** The devices of the root bus and everything behind its bridges, sorted by path. */
export function pciTree(reply: unknown): PciEntry[] {
  const root = (reply as Array<{ bus: number; devices: PciDevice[] }>).find((b) => b.bus === 0)!;
  const out: PciEntry[] = [];
  walk(root.devices, '', out);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
