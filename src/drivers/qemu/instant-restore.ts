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
import { execFileSync } from 'node:child_process';
import type { SaveImageInfo } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ActiveJob } from '../common/domain-job';
import type { FeedSource } from './multifd-relay';
import { DeviceStateRestore, readRegionLayout } from './region-pipeline';

function losetup(args: string[]): string {
  try {
    return execFileSync('losetup', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `losetup ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** True when a loop device (a guest restored instantly) still maps `file`. */
export function imageMapped(file: string): boolean {
  if (process.getuid?.() !== 0) return false; // only root can have made one
  try {
    return execFileSync('losetup', ['-j', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().length > 0;
  } catch {
    return false;
  }
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

  private constructor(
    readonly ramFromFile: string,
    device: FeedSource,
    socketPath: string,
  ) {
    super(device, socketPath);
    this.attachedLoop = ramFromFile;
  }

  /** Checks the layout and sets up the loop device over the image's RAM region. */
  static open(file: string, info: SaveImageInfo, socketPath: string): InstantRegionRestore {
    const { ram, device } = readRegionLayout(file, info);
    if (process.getuid?.() !== 0) {
      throw VirError.report(
        ErrorCode.OPERATION_UNSUPPORTED,
        ErrorDomain.QEMU,
        "instant restore needs root for a loop device on this QEMU (mapping at an offset needs memory-backend-file 'offset', QEMU 8.1+)",
      );
    }
    const loop = losetup(['--find', '--show', '--offset', String(ram.offset), '--sizelimit', String(ram.size), file]);
    return new InstantRegionRestore(loop, device, socketPath);
  }

  override attach(job: ActiveJob): void {
    super.attach(job);
    job.setTotal(this.device.length);
  }

  spawned(): void {
    // QEMU has the device open: detach lazily, the kernel frees it when QEMU closes it.
    this.detach();
  }

  cleanup(): void {
    this.detach();
  }

  private detach(): void {
    if (!this.attachedLoop) return;
    const loop = this.attachedLoop;
    this.attachedLoop = null;
    try {
      losetup(['-d', loop]);
    } catch {
      /* already gone */
    }
  }
}
