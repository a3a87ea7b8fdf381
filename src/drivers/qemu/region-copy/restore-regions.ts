/**
 * The restore side of the region copy: the image's RAM into the new guest's backend, read with
 * O_DIRECT where the image's filesystem and the manifest's offsets allow it (direct-read.ts),
 * through the page cache otherwise.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { chunkBuffersFor, copyRegions, type CopyRegionsOptions, type RegionDigest } from './copy-regions';
import { alignedChunks, isDirectIoRefusal } from './direct-read';
import { ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';

/** Options of {@link restoreRegions}: those of copyRegions without a source, plus the image. */
export interface RestoreRegionsOptions extends Omit<CopyRegionsOptions, 'src' | 'buffers' | 'expect'> {
  /** The image's path, opened here for buffered reads when direct ones are not possible. */
  file: string;
  /** The image opened by openDirectRead (null: its filesystem refused); the caller closes it. */
  direct: FileHandle | null;
  /** The regions to restore and their digests, from the manifest. */
  expect: RegionDigest[];
}

/**
 * Copies and verifies every region. A direct read the kernel refuses (a data map whose offsets
 * or lengths are not block-aligned: the manifest chose them) restarts the whole copy through the
 * cache; any other failure is raised. The second pass writes every chunk it reads, zeros too:
 * the refused pass may have left bytes the second pass reads as zeros (a file changed under the
 * restore, a disk that misread once), and only what the second pass read is verified.
 */
export async function restoreRegions(o: RestoreRegionsOptions): Promise<RegionDigest[]> {
  const { file, direct, onProgress, ...copy } = o;
  // Bytes the refused direct pass already reported: the pass through the cache reports only what
  // goes past them, so the job's progress never runs over its total.
  let reported = 0;
  const buffers = direct && alignedChunks(chunkBuffersFor(o.expect.length));
  let refused = false;
  if (direct && buffers) {
    try {
      return await copyRegions({ ...copy, src: direct, buffers, onProgress: (w, n) => ((reported += n), onProgress?.(w, n)) });
    } catch (err) {
      if (!isDirectIoRefusal(err)) throw err;
      refused = true;
    }
  }
  const src = await open(file, 'r').catch((err: unknown) => {
    throw VirError.system(ErrorDomain.QEMU, `cannot open save image '${file}'`, err);
  });
  try {
    return await copyRegions({
      ...copy,
      src,
      overwrite: refused,
      onProgress: (w, n) => {
        const credit = Math.min(n, reported);
        reported -= credit;
        if (n > credit) onProgress?.(w, n - credit);
      },
    });
  } finally {
    await src.close();
  }
}
