/**
 * Reading a region image's RAM with O_DIRECT on restore. Through the page cache every page is
 * allocated and copied twice (into the cache, then into the guest's backend) and the cache keeps
 * a second copy of the guest's RAM afterwards; with O_DIRECT the disk writes into tsvirt's
 * buffers and the only copy left is the guest's. Measured on the 2-core reference machine, 4 GiB
 * from a cold cache into a tmpfs file: 1.0-2.0 s direct against 1.6-3.7 s buffered (interleaved).
 *
 * O_DIRECT needs buffers aligned to the device's block size. Node's Buffers come from malloc,
 * whose alignment is 16 bytes; a WebAssembly memory is mapped by V8 on page boundaries, so its
 * chunk-sized slices are aligned whatever the device.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { REGION_CHUNK } from './copy-regions';

/** The part of the WebAssembly global used here (the compiler's DOM typings are not loaded). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

/** WebAssembly pages are 64 KiB. */
const WASM_PAGE = 64 * 1024;

/**
 * Opens `file` for O_DIRECT reads, or returns null where that fails: filesystems that refuse
 * O_DIRECT (tmpfs before Linux 6.6, FUSE, some network filesystems) say EINVAL, others other
 * things. The caller then opens the file for reads through the cache, and that open reports
 * what is really wrong with the file (missing, not readable).
 */
export async function openDirectRead(file: string): Promise<FileHandle | null> {
  return open(file, constants.O_RDONLY | constants.O_DIRECT).catch(() => null);
}

/**
 * `count` page-aligned buffers of REGION_CHUNK bytes for O_DIRECT reads, or null when the
 * runtime cannot map that much WebAssembly memory (an address-space limit, say): the caller
 * then reads through the cache with ordinary Buffers.
 */
export function alignedChunks(count: number): Buffer[] | null {
  let memory: { buffer: ArrayBuffer };
  try {
    memory = new WebAssembly.Memory({ initial: (count * REGION_CHUNK) / WASM_PAGE });
  } catch {
    return null;
  }
  return Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * REGION_CHUNK, REGION_CHUNK));
}

/** True for the error a read gives when O_DIRECT's alignment rules are broken. */
export function isDirectIoRefusal(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'EINVAL') return true;
  }
  return false;
}
