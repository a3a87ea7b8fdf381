/**
 * `<disk>` to `-blockdev` pairs (storage node and format node) and the guest device, named and
 * addressed as libvirt 9.0 does: `libvirt-N-storage` / `libvirt-N-format` (N counting down from
 * the number of disks), device ids `virtio-disk<index>`, `ide0-<bus>-<unit>`, `sata0-0-<unit>`,
 * `scsi0-0-0-<unit>`.
 */
import { statSync } from 'node:fs';
import { diskNameToIndex } from '../../../conf/domain/disk-target';
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import { diskBus } from '../domain-defaults/disk-defaults';
import { deviceArg, jsonArg, pciProps, unsupported, type Props } from './args';
import type { BootOrder } from './boot';

/** libvirt's `cache=` modes as QEMU's block cache options and the device's write cache. */
const CACHE_MODES: Record<string, { direct: boolean; noFlush: boolean; writeCache: 'on' | 'off' }> = {
  none: { direct: true, noFlush: false, writeCache: 'on' },
  writeback: { direct: false, noFlush: false, writeCache: 'on' },
  writethrough: { direct: false, noFlush: false, writeCache: 'off' },
  directsync: { direct: true, noFlush: false, writeCache: 'off' },
  unsafe: { direct: false, noFlush: true, writeCache: 'on' },
};
const IO_MODES = new Set(['native', 'threads', 'io_uring']);
const DISCARD_MODES = new Set(['unmap', 'ignore']);
const FORMATS = new Set(['raw', 'qcow2']);

/** The image a disk reads: `<source file=>` or `<source dev=>`; undefined for an empty CD-ROM. */
export function diskSourcePath(disk: XmlElement): string | undefined {
  const src = child(disk, 'source');
  return (attr(disk, 'type') ?? 'file') === 'block' ? attr(src, 'dev') : attr(src, 'file');
}

/**
 * Checks every disk's image exists before QEMU starts, as libvirt does: SYSTEM_ERROR (storage
 * domain) "Cannot access storage file '...': No such file or directory".
 */
export function checkDiskSources(devs: XmlElement | undefined): void {
  for (const disk of devs ? children(devs, 'disk') : []) {
    const path = diskSourcePath(disk);
    if (path === undefined) continue;
    try {
      statSync(path);
    } catch (err) {
      throw VirError.system(ErrorDomain.STORAGE, `Cannot access storage file '${path}'`, err);
    }
  }
}

function driveAddr(disk: XmlElement): { controller: number; bus: number; target: number; unit: number } {
  const a = child(disk, 'address');
  return {
    controller: Number(attr(a, 'controller') ?? 0),
    bus: Number(attr(a, 'bus') ?? 0),
    target: Number(attr(a, 'target') ?? 0),
    unit: Number(attr(a, 'unit') ?? 0),
  };
}

/** The guest-side device of a disk: driver and bus placement, and its id. */
function guestDevice(disk: XmlElement, bus: string, cdrom: boolean, ctx: DiskArgsContext, devs: XmlElement | undefined): { props: Props; id: string } {
  const scsiModels = ctx.scsiModels;
  const dev = attr(child(disk, 'target'), 'dev') ?? '';
  const a = driveAddr(disk);
  switch (bus) {
    case 'virtio':
      if (cdrom) throw unsupported('disk device \'cdrom\' is not supported on bus \'virtio\'');
      return { props: { driver: 'virtio-blk-pci', ...pciProps(disk, devs) }, id: `virtio-disk${diskNameToIndex(dev)}` };
    case 'ide':
      return { props: { driver: cdrom ? 'ide-cd' : 'ide-hd', bus: `ide.${a.bus}`, unit: a.unit }, id: `ide${a.controller}-${a.bus}-${a.unit}` };
    case 'sata': {
      // On q35 SATA controller 0 is the ICH9's built-in AHCI, whose bus QEMU calls `ide`.
      const sataBus = a.controller === 0 && ctx.q35 ? 'ide' : `sata${a.controller}`;
      return { props: { driver: cdrom ? 'ide-cd' : 'ide-hd', bus: `${sataBus}.${a.unit}` }, id: `sata${a.controller}-${a.bus}-${a.unit}` };
    }
    case 'scsi': {
      if (!scsiModels.has(a.controller)) throw unsupported(`SCSI controller ${a.controller} of disk '${dev}' is missing`);
      const driver = cdrom ? 'scsi-cd' : 'scsi-hd';
      if (scsiModels.get(a.controller) === 'virtio-scsi') {
        const id = `scsi${a.controller}-${a.bus}-${a.target}-${a.unit}`;
        return { props: { driver, bus: `scsi${a.controller}.0`, channel: a.bus, 'scsi-id': a.target, lun: a.unit, device_id: `drive-${id}` }, id };
      }
      // A parallel SCSI bus (lsilogic) addresses the disk by its unit alone.
      const id = `scsi${a.controller}-${a.bus}-${a.unit}`;
      return { props: { driver, bus: `scsi${a.controller}.${a.bus}`, 'scsi-id': a.unit, device_id: `drive-${id}` }, id };
    }
    default:
      throw unsupported(`disk bus '${bus}' is not supported`);
  }
}

/** Options of {@link diskArgs}. */
export interface DiskArgsContext {
  /** Models of the SCSI controllers by index. */
  scsiModels: Map<number, string>;
  boot: BootOrder;
  /** A q35 machine (pcie-root): SATA controller 0 is built in. */
  q35: boolean;
}

/** The arguments of all `<disk>`s of `devs`. */
export function diskArgs(devs: XmlElement | undefined, ctx: DiskArgsContext): string[] {
  const disks = devs ? children(devs, 'disk') : [];
  const out: string[] = [];
  disks.forEach((disk, i) => {
    const type = attr(disk, 'type') ?? 'file';
    const device = attr(disk, 'device') ?? 'disk';
    if (type !== 'file' && type !== 'block') throw unsupported(`disk type '${type}' is not supported`);
    if (device !== 'disk' && device !== 'cdrom') throw unsupported(`disk device '${device}' is not supported`);
    const cdrom = device === 'cdrom';
    const drv = child(disk, 'driver');
    const format = attr(drv, 'type') ?? 'raw';
    if (!FORMATS.has(format)) throw unsupported(`disk format '${format}' is not supported`);
    const cacheName = attr(drv, 'cache');
    const cache = cacheName === undefined || cacheName === 'default' ? undefined : CACHE_MODES[cacheName];
    if (cacheName !== undefined && cacheName !== 'default' && !cache) throw unsupported(`disk cache mode '${cacheName}' is not supported`);
    const io = attr(drv, 'io');
    if (io !== undefined && !IO_MODES.has(io)) throw unsupported(`disk io mode '${io}' is not supported`);
    const discard = attr(drv, 'discard');
    if (discard !== undefined && !DISCARD_MODES.has(discard)) throw unsupported(`disk discard mode '${discard}' is not supported`);
    const path = diskSourcePath(disk);
    if (path === undefined && !cdrom) throw unsupported(`disk '${attr(child(disk, 'target'), 'dev')}' has no source`);
    const node = disks.length - i;
    const cacheProps = cache ? { direct: cache.direct, 'no-flush': cache.noFlush } : undefined;
    const readOnly = cdrom || !!child(disk, 'readonly');
    const bus = diskBus(disk);
    const guest = guestDevice(disk, bus, cdrom, ctx, devs);
    if (path !== undefined) {
      out.push(...jsonArg('-blockdev', {
        driver: type === 'block' ? 'host_device' : 'file', filename: path, aio: io, 'node-name': `libvirt-${node}-storage`,
        cache: cacheProps, 'auto-read-only': true, discard: 'unmap',
      }));
      out.push(...jsonArg('-blockdev', {
        'node-name': `libvirt-${node}-format`, 'read-only': readOnly, discard, cache: cacheProps, driver: format, file: `libvirt-${node}-storage`,
      }));
    }
    out.push(...deviceArg({
      ...guest.props, drive: path !== undefined ? `libvirt-${node}-format` : undefined, id: guest.id,
      bootindex: ctx.boot.indexOf(disk), 'write-cache': cache?.writeCache,
    }));
  });
  return out;
}
