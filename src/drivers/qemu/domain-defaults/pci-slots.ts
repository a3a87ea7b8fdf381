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

function setAddress(dev: XmlElement, a: PciAddress): void {
  const old = child(dev, 'address');
  if (old) dev.children[dev.children.indexOf(old)] = pciAddressElement(a);
  else dev.children.push(pciAddressElement(a));
}

/** True when the device is a PCI device that needs an address. */
export function isPciDevice(dev: XmlElement): boolean {
  const type = attr(dev, 'type');
  const model = attr(dev, 'model') ?? attr(child(dev, 'model'), 'type');
  switch (dev.name) {
    case 'interface':
      return true;
    case 'controller':
      if (!PCI_CONTROLLERS.has(type ?? '')) return false;
      return !(type === 'usb' && (model === 'none' || model === 'piix3-uhci'));
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

const ORDER = ['interface', 'controller', 'disk', 'memballoon', 'rng', 'watchdog', 'video', 'input'];

/**
 * The PCI function of each ICH9 USB controller: the EHCI at 7 and its UHCI companions at 0-2 of
 * one slot, as on real ICH9 hardware (the companions only work beside their EHCI).
 */
const ICH9_USB_FUNCTIONS: Record<string, number> = { 'ich9-ehci1': 7, 'ich9-uhci1': 0, 'ich9-uhci2': 1, 'ich9-uhci3': 2 };

/**
 * Gives the ICH9 USB controllers of each index one slot (the next free one when the first of
 * them is met) at their fixed functions, function 0 marked multifunction, as libvirt groups a
 * companion set.
 */
class Ich9UsbSlots {
  private readonly slotOf = new Map<string, { slot: number; fn0Claimed: boolean }>();

  constructor(private readonly used: PciAddressSet) {}

  /** True for the controllers this class places. */
  static handles(dev: XmlElement): boolean {
    return dev.name === 'controller' && attr(dev, 'type') === 'usb' && ICH9_USB_FUNCTIONS[attr(dev, 'model') ?? ''] !== undefined;
  }

  /** Notes the slot of a companion whose address the XML gave. */
  given(c: XmlElement): void {
    const a = pciAddressOf(c);
    const index = attr(c, 'index') ?? '0';
    if (a && Ich9UsbSlots.handles(c) && !this.slotOf.has(index)) this.slotOf.set(index, { slot: a.slot, fn0Claimed: false });
  }

  /** Addresses `c`. */
  assign(c: XmlElement): void {
    const fn = ICH9_USB_FUNCTIONS[attr(c, 'model') ?? ''];
    const index = attr(c, 'index') ?? '0';
    let group = this.slotOf.get(index);
    if (!group) {
      // next() claims function 0 of the fresh slot for the group.
      group = { slot: this.used.next(0, 2).slot, fn0Claimed: true };
      this.slotOf.set(index, group);
    }
    const a: PciAddress = { domain: 0, bus: 0, slot: group.slot, function: fn, ...(fn === 0 ? { multifunction: true } : {}) };
    if (fn === 0 && group.fn0Claimed) group.fn0Claimed = false;
    else this.used.claim(a);
    setAddress(c, a);
  }
}

/** Claims the XML's addresses and assigns the missing ones. XML_ERROR on a double use. */
export function assignPciAddresses(devs: XmlElement): void {
  const used = new PciAddressSet();
  used.claim({ domain: 0, bus: 0, slot: 0, function: 0 });
  used.claim({ domain: 0, bus: 0, slot: 1, function: 0 });
  const ich9 = new Ich9UsbSlots(used);
  for (const dev of children(devs)) {
    const a = pciAddressOf(dev);
    if (a) used.claim(a);
    ich9.given(dev);
  }
  // The PIIX3's own functions: libvirt writes them into the XML of those controllers.
  for (const c of children(devs, 'controller')) {
    if (child(c, 'address')) continue;
    const type = attr(c, 'type');
    if (type === 'ide' && attr(c, 'index') === '0') setAddress(c, { domain: 0, bus: 0, slot: 1, function: 1 });
    if (type === 'usb' && attr(c, 'model') === 'piix3-uhci' && attr(c, 'index') === '0') setAddress(c, { domain: 0, bus: 0, slot: 1, function: 2 });
  }
  const videos = children(devs, 'video').filter(isPciDevice);
  if (videos[0] && !child(videos[0], 'address') && !used.slotUsed(0, 2)) setAddress(videos[0], used.next(0, 2));
  for (const kind of ORDER) {
    for (const dev of children(devs, kind)) {
      if (!isPciDevice(dev) || child(dev, 'address')) continue;
      if (Ich9UsbSlots.handles(dev)) ich9.assign(dev);
      else setAddress(dev, used.next(0, 2));
    }
  }
}
