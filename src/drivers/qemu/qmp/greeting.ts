/** Parsing QEMU's QMP greeting, `{"QMP": {"version": {"qemu": {...}, "package": ...}, "capabilities": [...]}}`. */
import type { VirError } from '../../../util/vir-error';
import { greetingError } from './errors';
import { isJsonObject, type QmpGreetingInfo } from './types';

/** Returns the greeting's content, or the INTERNAL_ERROR to close the monitor with. */
export function parseGreeting(msg: Record<string, unknown>, line: string): QmpGreetingInfo | VirError {
  const qmp = msg.QMP;
  if (!isJsonObject(qmp)) return greetingError(line.length > 200 ? `${line.slice(0, 200)}...` : line);
  const version = isJsonObject(qmp.version) ? qmp.version : null;
  const qemu = version && isJsonObject(version.qemu) ? version.qemu : null;
  if (!qemu || !isVersionNumber(qemu.major) || !isVersionNumber(qemu.minor) || !isVersionNumber(qemu.micro)) {
    return greetingError('missing or invalid QEMU version');
  }
  const caps = Array.isArray(qmp.capabilities) ? qmp.capabilities.filter((c): c is string => typeof c === 'string') : [];
  return {
    version: { major: qemu.major, minor: qemu.minor, micro: qemu.micro },
    package: typeof version?.package === 'string' ? version.package.trim() : '',
    capabilities: caps,
  };
}

function isVersionNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
