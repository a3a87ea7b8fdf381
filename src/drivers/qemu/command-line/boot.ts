/**
 * Boot order as QEMU `bootindex` properties, as libvirt sets them: a device's own `<boot
 * order=N>`, or else for each `<os><boot dev=...>` in turn the first device of that kind
 * (hd: the first disk, cdrom: the first CD-ROM, network: the first NIC) gets the next index.
 */
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import { unsupported } from './args';

const BOOT_DEVS = new Set(['hd', 'cdrom', 'network', 'fd']);

/** The boot index of each device that boots. */
export class BootOrder {
  private readonly index = new Map<XmlElement, number>();

  /** Reads `<os>` and the devices of `root`. */
  constructor(root: XmlElement) {
    const devs = child(root, 'devices');
    const all = devs ? children(devs) : [];
    let perDevice = false;
    for (const dev of all) {
      const order = attr(child(dev, 'boot'), 'order');
      if (order === undefined) continue;
      if (!/^[1-9][0-9]*$/.test(order)) throw unsupported(`invalid boot order '${order}'`);
      this.index.set(dev, Number(order));
      perDevice = true;
    }
    const os = child(root, 'os');
    const bootDevs = os ? children(os, 'boot').map((b) => attr(b, 'dev') ?? '') : [];
    for (const d of bootDevs) if (!BOOT_DEVS.has(d)) throw unsupported(`boot device '${d}' is not supported`);
    if (perDevice && bootDevs.length > 0) {
      throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, 'per-device boot elements cannot be used together with os/boot elements');
    }
    bootDevs.forEach((d, i) => {
      const first = all.find((dev) => this.kindOf(dev) === d);
      if (first && !this.index.has(first)) this.index.set(first, i + 1);
    });
  }

  private kindOf(dev: XmlElement): string | undefined {
    if (dev.name === 'interface') return 'network';
    if (dev.name !== 'disk') return undefined;
    const device = attr(dev, 'device') ?? 'disk';
    if (device === 'cdrom') return 'cdrom';
    if (device === 'floppy') return 'fd';
    return 'hd';
  }

  /** The device's bootindex, or undefined when it does not boot. */
  indexOf(dev: XmlElement): number | undefined {
    return this.index.get(dev);
  }
}
