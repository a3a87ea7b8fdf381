/**
 * bookworm-backports' libvirt 11.3, unpacked beside the system's libvirt 9.0 by
 * scripts/setup-libvirt11.sh (idempotent, cached; run here so a test file never depends on an
 * earlier step). TSVIRT_LIBVIRT11_ROOT names another unpacked tree.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { qemu10Binary } from './qemu10';

/** The unpacked libvirt 11.3 tree (usr/sbin/libvirtd, usr/bin/virsh, ...); unpacks it on first use. */
export function libvirt11Root(): string {
  if (process.env.TSVIRT_LIBVIRT11_ROOT) return process.env.TSVIRT_LIBVIRT11_ROOT;
  const script = path.join(__dirname, '..', '..', 'scripts', 'setup-libvirt11.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  return out.trim().split('\n').pop()!;
}

/** The unpacked QEMU 10 tree (the folder holding usr/bin/qemu-system-x86_64). */
export function qemu10Root(): string {
  return path.resolve(path.dirname(qemu10Binary()), '..', '..');
}
