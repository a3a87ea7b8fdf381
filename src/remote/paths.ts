/**
 * Where tsvirtd's sockets and certificates live by default, shared by the daemon and the remote
 * driver so both agree without configuration. The socket names are libvirt's, so stock tools
 * pointed at the directory (`?socket=DIR/libvirt-sock`) find them.
 */
import os from 'node:os';
import path from 'node:path';

/** Read-write socket name, as libvirtd names it. */
export const RW_SOCKET_NAME = 'libvirt-sock';
/** Read-only socket name, as libvirtd names it. */
export const RO_SOCKET_NAME = 'libvirt-sock-ro';
/** libvirtd's TCP port. */
export const DEFAULT_TCP_PORT = 16509;
/** libvirtd's TLS port. */
export const DEFAULT_TLS_PORT = 16514;

/**
 * The default socket directory: `TSVIRT_SOCKET_DIR`, else `/run/tsvirt` for root, else
 * `$XDG_RUNTIME_DIR/tsvirt` (or `~/.cache/tsvirt/run`). Deliberately not libvirt's
 * `/run/libvirt`, so tsvirtd and a real libvirtd can run side by side.
 */
export function defaultSocketDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSVIRT_SOCKET_DIR) return env.TSVIRT_SOCKET_DIR;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/run/tsvirt';
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'tsvirt');
  return path.join(os.homedir(), '.cache', 'tsvirt', 'run');
}

/** The certificate files of one side of a TLS connection. */
export interface PkiFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * libvirt's certificate locations. With `pkiPath` (URI `?pkipath=` or daemon `--pki-path`) all
 * three files are in that directory (`cacert.pem`, `{client,server}cert.pem`,
 * `{client,server}key.pem`); otherwise a non-root user's `~/.pki/libvirt/` is used when it
 * exists, and root's `/etc/pki/CA/cacert.pem` + `/etc/pki/libvirt/...` otherwise.
 */
export function pkiFiles(side: 'client' | 'server', pkiPath?: string): PkiFiles {
  if (pkiPath) {
    return { ca: path.join(pkiPath, 'cacert.pem'), cert: path.join(pkiPath, `${side}cert.pem`), key: path.join(pkiPath, `${side}key.pem`) };
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    const dir = path.join(os.homedir(), '.pki', 'libvirt');
    return { ca: path.join(dir, 'cacert.pem'), cert: path.join(dir, `${side}cert.pem`), key: path.join(dir, `${side}key.pem`) };
  }
  return {
    ca: '/etc/pki/CA/cacert.pem',
    cert: `/etc/pki/libvirt/${side}cert.pem`,
    key: `/etc/pki/libvirt/private/${side}key.pem`,
  };
}
