/**
 * Where libvirt puts each kind of `<devices>` child when it writes domain XML: devices of one
 * kind stay in definition order, kinds come in this fixed order. Adding a device the user did
 * not write (a default controller, an implicit input) goes through here so dumpxml matches.
 */
import { child, element, isElement, type XmlElement } from '../xml-tree';

/** libvirt's order of device kinds in `<devices>`. */
export const DEVICE_ORDER = [
  'emulator', 'disk', 'controller', 'lease', 'filesystem', 'interface', 'smartcard', 'serial', 'parallel',
  'console', 'channel', 'input', 'tpm', 'graphics', 'sound', 'audio', 'video', 'hostdev', 'redirdev',
  'redirfilter', 'hub', 'watchdog', 'memballoon', 'rng', 'panic', 'shmem', 'memory', 'iommu', 'vsock', 'crypto',
];

function rank(name: string): number {
  const r = DEVICE_ORDER.indexOf(name);
  return r < 0 ? DEVICE_ORDER.length : r;
}

/** Re-sorts `<devices>` children into libvirt's order, stably (text nodes are dropped). */
export function sortDevices(devices: XmlElement): void {
  const els = devices.children.filter(isElement);
  devices.children = els
    .map((el, i) => ({ el, i }))
    .sort((a, b) => rank(a.el.name) - rank(b.el.name) || a.i - b.i)
    .map((x) => x.el);
}

/** Appends `dev` after the last device of its kind (or at its kind's place). */
export function insertDevice(devices: XmlElement, dev: XmlElement): void {
  const mine = rank(dev.name);
  let at = devices.children.length;
  for (let i = 0; i < devices.children.length; i++) {
    const c = devices.children[i];
    if (isElement(c) && rank(c.name) > mine) {
      at = i;
      break;
    }
  }
  devices.children.splice(at, 0, dev);
}

/** The domain's `<devices>`, created (at the end) when missing. */
export function devicesOf(root: XmlElement): XmlElement {
  let devs = child(root, 'devices');
  if (!devs) {
    devs = element('devices');
    root.children.push(devs);
  }
  return devs;
}
