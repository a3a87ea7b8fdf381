/**
 * The file checks every driver makes before it reads or writes a save image. An image path is a
 * regular file (or, for a new image, a name in an existing directory): a FIFO would block the
 * process's file I/O for ever, a device node would be overwritten, a directory or a symlink loop
 * fails late and obscurely. Writes go to a temporary sibling renamed over the target only when
 * the image is complete, so a failed save never destroys the image that was there before.
 */
import { constants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ErrorCode, ErrorDomain } from './error-codes';
import { VirError } from './vir-error';

/** What kind of file `st` is, in words, for error messages. */
export function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function notRegular(path: string, st: Stats, domain: ErrorDomain): VirError {
  return VirError.report(ErrorCode.INVALID_ARG, domain, `save image '${path}' is ${fileKind(st)}, not a regular file`);
}

/**
 * Opens an existing image for reading without ever blocking on a FIFO (O_NONBLOCK, which
 * regular files ignore) and refuses anything but a regular file. Errors as libvirt words them:
 * SYSTEM_ERROR "cannot read domain image 'PATH': No such file or directory".
 */
export async function openRegularImage(path: string, mode: 'r' | 'r+', domain: ErrorDomain): Promise<FileHandle> {
  const flags = (mode === 'r' ? constants.O_RDONLY : constants.O_RDWR) | constants.O_NONBLOCK;
  let fh: FileHandle;
  try {
    fh = await open(path, flags);
  } catch (err) {
    throw VirError.system(domain, `cannot read domain image '${path}'`, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path, st, domain);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw VirError.from(err, domain);
  }
  return fh;
}

/** Where a new image is written and what it finally becomes. */
export interface ImageTarget {
  /** The path the caller named. */
  path: string;
  /** The file the image replaces: `path` with symlinks resolved (the link itself is kept). */
  finalPath: string;
  /** The temporary sibling of `finalPath` the image is written to. */
  tempPath: string;
}

/**
 * Checks that `path` can take a new image and picks its temporary name. The directory must exist
 * (libvirt never creates it: SYSTEM_ERROR "Failed to create file 'PATH': No such file or
 * directory"); an existing file must be regular. Nothing is created here.
 */
export async function prepareImageTarget(path: string, domain: ErrorDomain): Promise<ImageTarget> {
  const fail = (err: unknown): VirError => VirError.system(domain, `Failed to create file '${path}'`, err);
  let finalPath = path;
  let existing: Stats | null = null;
  try {
    existing = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw fail(err);
  }
  if (existing) {
    if (!existing.isFile()) throw notRegular(path, existing, domain);
    finalPath = await realpath(path).catch((err) => {
      throw fail(err);
    });
  }
  const dir = dirname(finalPath);
  let dirStat: Stats;
  try {
    dirStat = await stat(dir);
  } catch (err) {
    throw fail(err);
  }
  if (!dirStat.isDirectory()) throw fail(Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  const tempPath = join(dir, `.${basename(finalPath)}.tsvirt-partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  return { path, finalPath, tempPath };
}

/** True when `name` (a base name) is the temporary file of an unfinished image write. */
export function isPartialImageName(name: string): boolean {
  return /^\..+\.tsvirt-partial-\d+-[0-9a-f]{8}(\.\d+)?$/.test(name);
}
