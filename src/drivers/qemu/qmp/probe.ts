/**
 * What a running QEMU can do, asked over QMP. The QEMU driver uses it to choose a save strategy:
 * multifd (capability `multifd`), x-ignore-shared, and mapped-ram (QEMU 9.0+ only).
 */
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import type { QmpClient } from './client';
import { isJsonObject, type QemuVersion } from './types';

/** The capabilities of one QEMU process. */
export interface QemuCapabilities {
  version: QemuVersion;
  /** Distribution build string from `query-version` ("" when absent). */
  package: string;
  /** Names of all migration capabilities QEMU knows (on or off), e.g. "multifd", "x-ignore-shared". */
  migrationCapabilities: string[];
  /** Names of all QMP commands QEMU accepts. */
  commands: string[];
}

/**
 * Runs `query-version`, `query-migrate-capabilities` and `query-commands` (all in flight at once)
 * and condenses their replies. A reply of the wrong shape is an INTERNAL_ERROR naming the command,
 * like libvirt's "... reply was missing ..." errors.
 */
export async function probeQemuCapabilities(client: QmpClient, options: { timeoutMs?: number } = {}): Promise<QemuCapabilities> {
  const opts = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const [versionReply, capsReply, commandsReply] = await Promise.all([
    client.execute('query-version', undefined, opts),
    client.execute('query-migrate-capabilities', undefined, opts),
    client.execute('query-commands', undefined, opts),
  ]);
  return {
    ...parseVersion(versionReply),
    migrationCapabilities: namesOf(capsReply, 'query-migrate-capabilities', 'capability'),
    commands: namesOf(commandsReply, 'query-commands', 'name'),
  };
}

/** True when `version` is at least major.minor.micro. */
export function qemuVersionAtLeast(version: QemuVersion, major: number, minor = 0, micro = 0): boolean {
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.micro >= micro;
}

function parseVersion(reply: unknown): { version: QemuVersion; package: string } {
  const qemu = isJsonObject(reply) && isJsonObject(reply.qemu) ? reply.qemu : null;
  const nums = qemu ? [qemu.major, qemu.minor, qemu.micro] : [];
  if (!qemu || !nums.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) {
    throw badReply('query-version', "missing or invalid 'qemu' data");
  }
  const pkg = isJsonObject(reply) && typeof reply.package === 'string' ? reply.package.trim() : '';
  return { version: { major: qemu.major as number, minor: qemu.minor as number, micro: qemu.micro as number }, package: pkg };
}

function namesOf(reply: unknown, command: string, key: string): string[] {
  if (!Array.isArray(reply)) throw badReply(command, 'reply was not an array');
  return reply.map((entry, i) => {
    if (!isJsonObject(entry) || typeof entry[key] !== 'string') {
      throw badReply(command, `entry ${i} has no '${key}'`);
    }
    return entry[key] as string;
  });
}

function badReply(command: string, what: string): VirError {
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `${command} reply: ${what}`);
}
