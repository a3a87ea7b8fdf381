/**
 * The controllers libvirt's QEMU driver adds on define: USB (piix3-uhci on pc), the PCI root,
 * and the controller every disk, channel or USB device needs (IDE, SATA, SCSI, virtio-serial).
 * New controllers go after the last one of their type, or after all devices of their kind, as
 * libvirt inserts them.
 */
import { insertDevice } from '../../../conf/domain/device-order';
import { attr, child, children, element, setAttr, type XmlElement } from '../../../conf/xml-tree';
import { diskBus } from './disk-defaults';

/** The controller model libvirt chooses when a SCSI disk needs a controller the XML lacks. */
const DEFAULT_SCSI_MODEL = 'lsilogic';

function controllers(devs: XmlElement, type: string): XmlElement[] {
  return children(devs, 'controller').filter((c) => attr(c, 'type') === type);
}

function addController(devs: XmlElement, type: string, index: number, model?: string): XmlElement {
  const attrs: Array<[string, string]> = [['type', type], ['index', String(index)]];
  if (model) attrs.push(['model', model]);
  const el = element('controller', attrs);
  // After the last controller of its type with a lower index, else after every device of its kind.
  const lower = controllers(devs, type).filter((c) => Number(attr(c, 'index')) < index);
  if (lower.length > 0) devs.children.splice(devs.children.indexOf(lower[lower.length - 1]) + 1, 0, el);
  else insertDevice(devs, el);
  return el;
}

/** Adds each controller of `type` the disks on `bus` name by index and the XML lacks. */
function addDiskControllers(devs: XmlElement, bus: string, model?: string): void {
  const wanted = new Set<number>();
  for (const d of children(devs, 'disk')) {
    if (diskBus(d) === bus) wanted.add(Number(attr(child(d, 'address'), 'controller') ?? 0));
  }
  for (const index of [...wanted].sort((a, b) => a - b)) {
    if (!controllers(devs, bus).some((c) => Number(attr(c, 'index')) === index)) addController(devs, bus, index, model);
  }
}

/** ICH9's UHCI companions: they belong to the EHCI controller before them (its index). */
const USB_COMPANIONS = new Set(['ich9-uhci1', 'ich9-uhci2', 'ich9-uhci3']);

/**
 * Gives each controller an index (per type, in order; a USB companion without one shares the
 * previous USB controller's) and the default models.
 */
function normalise(devs: XmlElement): void {
  const next = new Map<string, number>();
  let lastUsb: string | undefined;
  for (const c of children(devs, 'controller')) {
    const type = attr(c, 'type') ?? '';
    const n = next.get(type) ?? 0;
    if (attr(c, 'index') === undefined) {
      const companion = type === 'usb' && USB_COMPANIONS.has(attr(c, 'model') ?? '') && lastUsb !== undefined;
      c.attrs.splice(1, 0, ['index', companion ? (lastUsb as string) : String(n)]);
    }
    if (type === 'usb') lastUsb = attr(c, 'index');
    next.set(type, Math.max(n, Number(attr(c, 'index')) + 1));
    if (type === 'usb' && attr(c, 'model') === undefined) setAttr(c, 'model', 'piix3-uhci');
    if (type === 'scsi' && attr(c, 'model') === undefined) setAttr(c, 'model', DEFAULT_SCSI_MODEL);
  }
}

/** Adds the controllers a `pc` (i440fx) guest has in libvirt's XML. */
export function defaultControllers(devs: XmlElement): void {
  normalise(devs);
  if (controllers(devs, 'usb').length === 0) addController(devs, 'usb', 0, 'piix3-uhci');
  if (controllers(devs, 'pci').length === 0) addController(devs, 'pci', 0, 'pci-root');
  // libvirt adds the disk controllers in this order: SCSI, IDE, SATA.
  addDiskControllers(devs, 'scsi', DEFAULT_SCSI_MODEL);
  addDiskControllers(devs, 'ide');
  addDiskControllers(devs, 'sata');
  const needsVirtioSerial = [...children(devs, 'channel'), ...children(devs, 'console')]
    .some((c) => attr(child(c, 'target'), 'type') === 'virtio');
  if (needsVirtioSerial && controllers(devs, 'virtio-serial').length === 0) addController(devs, 'virtio-serial', 0);
}
