import path from 'node:path';

/**
 * Makes a path absolute in the caller's process, as libvirt's client library does before an
 * RPC, so a relative path never resolves against a daemon's working directory.
 */
export function absolutePath(p: string): string {
  return path.resolve(p);
}
