/**
 * QEMU binary capabilities, probed once per binary (path + mtime + size) and kept for the life
 * of the process, as libvirt's capability cache does.
 */
import { statSync } from 'node:fs';
import { probeQemuCapabilities, type QemuCapabilities, type QmpClient } from './qmp';

const cache = new Map<string, QemuCapabilities>();

function keyOf(binary: string): string {
  try {
    const st = statSync(binary);
    return `${binary}:${st.mtimeMs}:${st.size}`;
  } catch {
    return binary;
  }
}

/** Probes through a connected monitor unless the binary is already known. */
export async function capabilitiesFor(binary: string, qmp: QmpClient): Promise<QemuCapabilities> {
  const key = keyOf(binary);
  const hit = cache.get(key);
  if (hit) return hit;
  const caps = await probeQemuCapabilities(qmp);
  cache.set(key, caps);
  return caps;
}
