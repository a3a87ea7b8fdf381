/**
 * Instant restore of a region image (Firecracker-style): the new guest's RAM is the image's RAM
 * region itself, mapped privately (copy-on-write) so pages come in from the file on demand and
 * the guest's writes never reach it; only the device state is loaded before the guest can run.
 *
 * Where the guest's QEMU has memory-backend-file's `offset` property (8.1+; probed, not assumed)
 * it maps the image's RAM region directly: no loop device, no root needed, and with `rom`
 * (8.2+) the image is opened read-only. Without it (QEMU 7.2) the region cannot start at offset
 * 0 of a file that begins with libvirt's header, so tsvirt exposes the region as a loop device
 * (`losetup --offset --sizelimit`, root only) and QEMU maps that. Once QEMU holds the device
 * open it is detached lazily, so the kernel frees it when QEMU exits.
 *
 * The image must stay in place, unchanged, while such a guest runs: tsvirt refuses to overwrite
 * or remove an image that a loop device maps or a QEMU process holds open. The RAM region is trusted as stored (check
 * it beforehand with `save-image-verify`); the device state is verified as it is sent.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseDomainXML } from '../../conf/domain-xml';
import type { SaveImageInfo } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import { binaryCapabilities } from './capabilities';
import { emulatorFor } from './emulator';
import type { RamFromFile } from './memory-backend';
import type { FeedSource } from './multifd-relay';
import { DeviceStateRestore, readRegionLayout } from './region-pipeline';

/** Runs losetup without blocking the event loop (the daemon serves other clients meanwhile). */
function losetup(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('losetup', args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `losetup ${args.join(' ')} failed: ${(stderr || err.message).trim()}`));
      } else {
        resolve(stdout.trim());
      }
    });
  });
}

const SYS_BLOCK = '/sys/block';

/** True when a QEMU process (any binary named qemu-system-*) has `real` open. */
function openByQemu(real: string): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return false;
  }
  return pids.some((pid) => {
    try {
      if (!basename(readlinkSync(`/proc/${pid}/exe`)).startsWith('qemu-system')) return false;
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === real;
        } catch {
          return false; // closed meanwhile
        }
      });
    } catch {
      return false; // gone, or not ours to look at
    }
  });
}

/**
 * True when the memory of an instantly restored guest comes from `file`: a loop device maps it,
 * or a QEMU process holds it open (an offset mapping). Read from sysfs and /proc, as `losetup -j`
 * and `fuser` do, rather than by running them: callers are on request paths and these reads never
 * block. The kernel reports the file's current path, renames included.
 */
export function imageMapped(file: string): boolean {
  let real: string;
  let devices: string[];
  try {
    real = realpathSync(file);
    devices = readdirSync(SYS_BLOCK).filter((d) => d.startsWith('loop'));
  } catch {
    return false;
  }
  return openByQemu(real) || devices.some((dev) => {
    try {
      return readFileSync(join(SYS_BLOCK, dev, 'loop', 'backing_file'), 'utf8').trim() === real;
    } catch {
      return false; // not bound
    }
  });
}

/** OPERATION_INVALID when `file` backs the RAM of an instantly restored guest. */
export function refuseIfMapped(file: string, what: string): void {
  if (imageMapped(file)) {
    throw VirError.report(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.QEMU,
      `cannot ${what} '${file}': it is the memory of a guest restored with parallel.instant, which reads it while it runs`,
    );
  }
}

/** Region image restored by mapping its RAM region instead of copying it. */
export class InstantRegionRestore extends DeviceStateRestore {
  private detaching: Promise<void> | null = null;

  private constructor(
    readonly ramFromFile: RamFromFile,
    private attachedLoop: string | null,
    device: FeedSource,
    socketPath: string,
  ) {
    super(device, socketPath);
  }

  /**
   * Checks the layout, then maps the image's RAM region at its offset where the guest's QEMU can,
   * else sets up a loop device over it.
   */
  static async open(file: string, info: SaveImageInfo, socketPath: string): Promise<InstantRegionRestore> {
    const { ram, device } = readRegionLayout(file, info);
    const props = (await binaryCapabilities(emulatorFor(parseDomainXML(info.xml)))).fileBackendProperties;
    if (props.includes('offset')) {
      const mapped = { path: realpathSync(file), offset: ram.offset, readOnly: props.includes('rom') };
      return new InstantRegionRestore(mapped, null, device, socketPath);
    }
    if (process.getuid?.() !== 0) {
      throw VirError.report(
        ErrorCode.OPERATION_UNSUPPORTED,
        ErrorDomain.QEMU,
        "instant restore needs root for a loop device on this QEMU (mapping at an offset needs memory-backend-file 'offset', QEMU 8.1+)",
      );
    }
    const loop = await losetup(['--find', '--show', '--offset', String(ram.offset), '--sizelimit', String(ram.size), file]);
    return new InstantRegionRestore({ path: loop, offset: 0, readOnly: false }, loop, device, socketPath);
  }

  override attach(job: ActiveJob): void {
    super.attach(job);
    job.setTotal(this.device.length);
  }

  spawned(): void {
    // QEMU has the device open: detach lazily, the kernel frees it when QEMU closes it.
    void this.detach();
  }

  /**
   * Detaches the loop device. Returns a promise (the pipeline interface allows a plain call):
   * a caller that awaits it knows the device is gone, so the image can be overwritten at once.
   */
  cleanup(): Promise<void> {
    return this.detach();
  }

  private detach(): Promise<void> {
    if (this.detaching) return this.detaching;
    const loop = this.attachedLoop;
    this.attachedLoop = null;
    this.detaching = loop ? losetup(['-d', loop]).then(() => undefined, () => undefined) : Promise.resolve();
    return this.detaching;
  }
}
