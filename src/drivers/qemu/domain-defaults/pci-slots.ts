/**
 * PCI addresses for an i440fx (`pc`) guest, assigned the way libvirt's QEMU driver does:
 * addresses the XML gives are claimed first (a second use is an error), slot 0 is the host
 * bridge, slot 1 the PIIX3 (ISA bridge, IDE at 1.1, USB at 1.2), slot 2 the primary video card;
 * the rest take the next free slot on bus 0 in libvirt's order: NICs, controllers, virtio
 * disks, memballoon, RNG, watchdog, then other video cards and virtio inputs.
 */
import { pciAddressElement, pciAddressOf, PciAddressSet, type PciAddress } from '../../../conf/domain/pci-address';
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { diskBus } from './disk-defaults';

const PCI_CONTROLLERS = new Set(['usb', 'scsi', 'sata', 'virtio-serial']);

/** Sets (or replaces) the device's `<address type='pci'>`. */
export function setPciAddress(dev: XmlElement, a: PciAddress): void {
  const old = child(dev, 'address');
  if (old) dev.children[dev.children.indexOf(old)] = pciAddressElement(a);
  else dev.children.push(pciAddressElement(a));
}

/**
 * True when the device is a PCI device that needs an address. On i440fx (`q35` false) the
 * PIIX3's UHCI is the chipset's own function 1.2; on q35 it is a card like any other.
 */
export function isPciDevice(dev: XmlElement, q35 = false): boolean {
  const type = attr(dev, 'type');
  const model = attr(dev, 'model') ?? attr(child(dev, 'model'), 'type');
  switch (dev.name) {
    case 'interface':
      return true;
    case 'controller':
      if (!PCI_CONTROLLERS.has(type ?? '')) return false;
      return !(type === 'usb' && (model === 'none' || (model === 'piix3-uhci' && !q35)));
    case 'disk':
      return diskBus(dev) === 'virtio';
    case 'memballoon':
    case 'rng':
      return model === 'virtio';
    case 'watchdog':
      return model === 'i6300esb';
    case 'video':
      return model !== 'none';
    case 'input':
      return attr(dev, 'bus') === 'virtio';
    default:
      return false;
  }
}

/** The order in which libvirt gives devices their PCI addresses. */
export const PCI_DEVICE_ORDER = ['interface', 'controller', 'disk', 'memballoon', 'rng', 'watchdog', 'video', 'input'];

/** Claims the XML's addresses and assigns the missing ones. XML_ERROR on a double use. */
export function assignPciAddresses(devs: XmlElement): void {
  const used = new PciAddressSet();
  used.claim({ domain: 0, bus: 0, slot: 0, function: 0 });
  used.claim({ domain: 0, bus: 0, slot: 1, function: 0 });
  for (const dev of children(devs)) {
    const a = pciAddressOf(dev);
    if (a) used.claim(a);
  }
  // The PIIX3's own functions: libvirt writes them into the XML of those controllers.
  for (const c of children(devs, 'controller')) {
    if (child(c, 'address')) continue;
    const type = attr(c, 'type');
    if (type === 'ide' && attr(c, 'index') === '0') setPciAddress(c, { domain: 0, bus: 0, slot: 1, function: 1 });
    if (type === 'usb' && attr(c, 'model') === 'piix3-uhci' && attr(c, 'index') === '0') setPciAddress(c, { domain: 0, bus: 0, slot: 1, function: 2 });
  }
  const videos = children(devs, 'video').filter((v) => isPciDevice(v));
  if (videos[0] && !child(videos[0], 'address') && !used.slotUsed(0, 2)) setPciAddress(videos[0], used.next(0, 2));
  for (const kind of PCI_DEVICE_ORDER) {
    for (const dev of children(devs, kind)) {
      if (!isPciDevice(dev) || child(dev, 'address')) continue;
      setPciAddress(dev, used.next(0, 2));
    }
  }
}
