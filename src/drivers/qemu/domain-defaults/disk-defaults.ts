/**
 * libvirt's defaults for `<disk>`: `<driver name='qemu' type='raw'/>`, the bus from the target name, `<readonly/>` on a CD-ROM and
 * the drive address (controller, bus, target, unit) of IDE, SATA and SCSI disks.
 */
import { diskNameToIndex } from '../../../conf/domain/disk-target';
import { attr, child, children, element, type XmlElement } from '../../../conf/xml-tree';

/** Disks per SATA controller (AHCI ports) and per narrow SCSI bus, as libvirt counts them. */
const SATA_UNITS = 6;
const SCSI_UNITS = 7;

/** The disk's bus: `<target bus=>`, else what libvirt infers from the target name. */
export function diskBus(disk: XmlElement): string {
  const target = child(disk, 'target');
  const bus = attr(target, 'bus');
  if (bus) return bus;
  const dev = attr(target, 'dev') ?? '';
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('sd')) return 'scsi';
  if (dev.startsWith('fd')) return 'fdc';
  return 'ide';
}

/** Inserts `<readonly/>` before the disk's `<boot>`/`<alias>`/`<address>`, where libvirt writes it. */
function insertReadonly(disk: XmlElement, el: XmlElement): void {
  const at = disk.children.findIndex((c) => 'name' in c && ['boot', 'alias', 'address'].includes(c.name));
  disk.children.splice(at < 0 ? disk.children.length : at, 0, el);
}

/** The drive address libvirt assigns from the target's index. */
export function driveAddress(bus: string, index: number): Array<[string, string]> {
  let controller = 0;
  let busNo = 0;
  let unit = 0;
  if (bus === 'ide') {
    controller = Math.floor(index / 4);
    busNo = Math.floor((index % 4) / 2);
    unit = index % 2;
  } else if (bus === 'sata') {
    controller = Math.floor(index / SATA_UNITS);
    unit = index % SATA_UNITS;
  } else {
    controller = Math.floor(index / SCSI_UNITS);
    unit = index % SCSI_UNITS;
  }
  return [['type', 'drive'], ['controller', String(controller)], ['bus', String(busNo)], ['target', '0'], ['unit', String(unit)]];
}

/** Applies the disk defaults to every `<disk>` of `devs`. */
export function defaultDisks(devs: XmlElement): void {
  for (const disk of children(devs, 'disk')) {
    const drv = child(disk, 'driver');
    if (!drv) disk.children.unshift(element('driver', [['name', 'qemu'], ['type', 'raw']]));
    else {
      if (attr(drv, 'name') === undefined) drv.attrs.unshift(['name', 'qemu']);
      if (attr(drv, 'type') === undefined) drv.attrs.splice(1, 0, ['type', 'raw']);
    }
    const target = child(disk, 'target');
    if (target && attr(target, 'bus') === undefined) target.attrs.push(['bus', diskBus(disk)]);
    if (attr(disk, 'device') === 'cdrom' && !child(disk, 'readonly')) insertReadonly(disk, element('readonly'));
    const bus = diskBus(disk);
    if (!child(disk, 'address') && (bus === 'ide' || bus === 'sata' || bus === 'scsi')) {
      disk.children.push(element('address', driveAddress(bus, diskNameToIndex(attr(target, 'dev') ?? ''))));
    }
  }
}
