/**
 * Instant restore of a region image (Firecracker-style): the new guest's RAM is the image's RAM
 * region itself, mapped privately (copy-on-write) so pages come in from the file on demand and
 * the guest's writes never reach it; only the device state is loaded before the guest can run.
 *
 * QEMU 8.1+ could map the region with memory-backend-file's `offset`; QEMU 7.2 cannot, and the
 * region cannot start at offset 0 of a file that begins with libvirt's header. So tsvirt exposes
 * the region as a loop device (`losetup --offset --sizelimit`, root only) and QEMU maps that.
 * Once QEMU holds the device open it is detached lazily, so the kernel frees it when QEMU exits.
 *
 * The image must stay in place, unchanged, while such a guest runs: tsvirt refuses to overwrite
 * or remove an image that a loop device still maps. The RAM region is trusted as stored (check
 * it beforehand with `save-image-verify`); the device state is verified as it is sent.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { SaveImageInfo } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
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

/**
 * True when a loop device (a guest restored instantly) still maps `file`. Read from sysfs, as
 * `losetup -j` does, rather than by running losetup: callers are on request paths and sysfs
 * reads never block. The kernel reports the backing file's current path, renames included.
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
  return devices.some((dev) => {
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
  private attachedLoop: string | null;
  private detaching: Promise<void> | null = null;

  private constructor(
    readonly ramFromFile: string,
    device: FeedSource,
    socketPath: string,
  ) {
    super(device, socketPath);
    this.attachedLoop = ramFromFile;
  }

  /** Checks the layout and sets up the loop device over the image's RAM region. */
  static async open(file: string, info: SaveImageInfo, socketPath: string): Promise<InstantRegionRestore> {
    const { ram, device } = readRegionLayout(file, info);
    if (process.getuid?.() !== 0) {
      throw VirError.report(
        ErrorCode.OPERATION_UNSUPPORTED,
        ErrorDomain.QEMU,
        "instant restore needs root for a loop device on this QEMU (mapping at an offset needs memory-backend-file 'offset', QEMU 8.1+)",
      );
    }
    const loop = await losetup(['--find', '--show', '--offset', String(ram.offset), '--sizelimit', String(ram.size), file]);
    return new InstantRegionRestore(loop, device, socketPath);
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
