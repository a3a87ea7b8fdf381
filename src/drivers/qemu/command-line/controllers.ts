/**
 * `<controller>`s that become QEMU devices, in libvirt's order (PCI, USB, SCSI, IDE, SATA,
 * virtio-serial). pci-root and the PIIX3's IDE are built into the machine.
 */
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { deviceArg, pciProps, unsupported, type Props } from './args';

const TYPE_ORDER = ['pci', 'usb', 'scsi', 'ide', 'sata', 'virtio-serial'];
const USB_MODELS: Record<string, string> = { 'piix3-uhci': 'piix3-usb-uhci', 'qemu-xhci': 'qemu-xhci', nec_xhci: 'nec-usb-xhci', ehci: 'usb-ehci' };
/** The USB models with a `ports` count (xHCI). */
const XHCI_MODELS = new Set(['qemu-xhci', 'nec_xhci']);
/** ICH9's EHCI and its UHCI companions, which hang off the EHCI's bus (`masterbus`). */
const ICH9_USB_MODELS: Record<string, string> = {
  'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1',
  'ich9-uhci2': 'ich9-usb-uhci2',
  'ich9-uhci3': 'ich9-usb-uhci3',
};
const SCSI_MODELS: Record<string, string> = { 'virtio-scsi': 'virtio-scsi-pci', lsilogic: 'lsi' };

function controllerDevice(c: XmlElement): Props | undefined {
  const type = attr(c, 'type') ?? '';
  const index = Number(attr(c, 'index') ?? 0);
  const model = attr(c, 'model');
  switch (type) {
    case 'pci':
      if (model !== 'pci-root') throw unsupported(`PCI controller model '${model}' is not supported`);
      return undefined;
    case 'ide':
      if (index !== 0) throw unsupported('only the built-in IDE controller is supported');
      return undefined;
    case 'usb': {
      if (model === 'none') return undefined;
      const id = index === 0 ? 'usb' : `usb${index}`;
      const ich9 = ICH9_USB_MODELS[model ?? ''];
      if (ich9 && model !== 'ich9-ehci1') {
        const startport = attr(child(c, 'master'), 'startport');
        if (startport === undefined) throw unsupported(`USB companion controller model '${model}' needs <master startport=.../>`);
        return { driver: ich9, masterbus: `${id}.0`, firstport: Number(startport), ...pciProps(c) };
      }
      if (ich9) return { driver: ich9, id, ...pciProps(c) };
      const driver = USB_MODELS[model ?? 'piix3-uhci'];
      if (!driver) throw unsupported(`USB controller model '${model}' is not supported`);
      // An xHCI controller's port count is set for its USB 2 (p2) and USB 3 (p3) ports alike.
      const ports = attr(c, 'ports');
      if (ports !== undefined && !XHCI_MODELS.has(model ?? '')) throw unsupported(`usb controller type '${model}' doesn't support 'ports'`);
      const portProps = ports === undefined ? {} : { p2: Number(ports), p3: Number(ports) };
      return { driver, ...portProps, id, ...pciProps(c) };
    }
    case 'scsi': {
      const driver = SCSI_MODELS[model ?? 'lsilogic'];
      if (!driver) throw unsupported(`SCSI controller model '${model}' is not supported`);
      return { driver, id: `scsi${index}`, ...pciProps(c) };
    }
    case 'sata':
      return { driver: 'ahci', id: `sata${index}`, ...pciProps(c) };
    case 'virtio-serial':
      return { driver: 'virtio-serial-pci', id: `virtio-serial${index}`, ...pciProps(c) };
    default:
      throw unsupported(`controller type '${type}' is not supported`);
  }
}

/** The SCSI controllers' models by index (the disk arguments depend on them). */
export function scsiModels(devs: XmlElement | undefined): Map<number, string> {
  const out = new Map<number, string>();
  for (const c of devs ? children(devs, 'controller') : []) {
    if (attr(c, 'type') === 'scsi') out.set(Number(attr(c, 'index') ?? 0), attr(c, 'model') ?? 'lsilogic');
  }
  return out;
}

/** The `-device` arguments of the controllers. */
export function controllerArgs(devs: XmlElement | undefined): string[] {
  const all = devs ? children(devs, 'controller') : [];
  for (const c of all) {
    if (!TYPE_ORDER.includes(attr(c, 'type') ?? '')) throw unsupported(`controller type '${attr(c, 'type')}' is not supported`);
  }
  const out: string[] = [];
  for (const type of TYPE_ORDER) {
    for (const c of all.filter((x) => attr(x, 'type') === type)) {
      const props = controllerDevice(c);
      if (props) out.push(...deviceArg(props));
    }
  }
  return out;
}
