/**
 * The machine types a QEMU binary offers (QMP `query-machines`), asked once per binary and kept
 * for the life of the process and on disk between processes (capabilities-cache.ts), so `pc`
 * resolves to the versioned type (`pc-i440fx-7.2`) that this QEMU runs, as libvirt records it
 * on define.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { statSync } from 'node:fs';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';
import { persistedSync } from '../capabilities-cache';

/** One entry of `query-machines`. */
export interface MachineType {
  name: string;
  alias?: string;
  isDefault: boolean;
  defaultCpuType?: string;
}

const cache = new Map<string, MachineType[]>();

function keyOf(binary: string): string {
  const st = statSync(binary);
  return `${binary}:${st.mtimeMs}:${st.size}`;
}

/** Reads the `query-machines` answer from QEMU's QMP output lines. */
function parseAnswer(out: string): MachineType[] | undefined {
  for (const line of out.split('\n')) {
    let msg: { return?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(msg.return)) continue;
    return (msg.return as Array<Record<string, unknown>>).map((m) => ({
      name: String(m.name),
      alias: typeof m.alias === 'string' ? m.alias : undefined,
      isDefault: m['is-default'] === true,
      defaultCpuType: typeof m['default-cpu-type'] === 'string' ? m['default-cpu-type'] : undefined,
    }));
  }
  return undefined;
}

/** The shape of a recorded answer (a record on disk is checked before it is believed). */
function isMachineTypeList(v: unknown): v is MachineType[] {
  // The names go into QEMU's -machine option and into domain XML: nothing but a plain name.
  const name = (x: unknown): boolean => typeof x === 'string' && /^[\w.-]+$/.test(x);
  return (
    Array.isArray(v) &&
    v.every((m) => m && typeof m === 'object' && name(m.name) && typeof m.isDefault === 'boolean' && (m.alias === undefined || name(m.alias)) && (m.defaultCpuType === undefined || name(m.defaultCpuType)))
  );
}

function probeMachineTypes(binary: string): MachineType[] {
  const input = ['qmp_capabilities', 'query-machines', 'quit'].map((c) => JSON.stringify({ execute: c })).join('\n');
  const res: SpawnSyncReturns<string> = spawnSync(
    binary,
    ['-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none', '-qmp', 'stdio'],
    { input: `${input}\n`, encoding: 'utf8', timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const list = res.stdout ? parseAnswer(res.stdout) : undefined;
  if (!list) {
    const why = res.error?.message ?? res.stderr?.trim() ?? `exit status ${res.status}`;
    throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `Failed to probe machine types of ${binary}: ${why}`);
  }
  return list;
}

/**
 * The machine types of `binary`. The probe is synchronous on purpose: it runs once per binary
 * and host (about 0.2 s; a recorded answer is read instead) from XML parsing, which every
 * caller does synchronously, and a QEMU started with `-machine none` and QMP on stdio answers
 * without any socket to clean up.
 */
export function machineTypes(binary: string): MachineType[] {
  let key: string;
  try {
    key = keyOf(binary);
  } catch (err) {
    throw VirError.system(ErrorDomain.QEMU, `Cannot find QEMU binary ${binary}`, err);
  }
  const hit = cache.get(key);
  if (hit) return hit;
  const list = persistedSync('machines', binary, isMachineTypeList, () => probeMachineTypes(binary));
  cache.set(key, list);
  return list;
}

/**
 * The versioned machine type for `machine` (an alias such as `pc` or a full name), or the
 * binary's default when none is given. CONFIG_UNSUPPORTED, as libvirt, for one QEMU lacks.
 */
export function resolveMachineType(binary: string, machine: string | undefined): string {
  const list = machineTypes(binary);
  if (machine === undefined) {
    const dflt = list.find((m) => m.isDefault);
    if (dflt) return dflt.name;
    machine = 'pc';
  }
  const found = list.find((m) => m.alias === machine) ?? list.find((m) => m.name === machine);
  if (!found) {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, `Emulator '${binary}' does not support machine type '${machine}'`);
  }
  return found.name;
}

/** True for a versioned i440fx machine type (what `pc` resolves to). */
export function isI440fx(machine: string | undefined): boolean {
  return (machine ?? 'pc').startsWith('pc-i440fx');
}

/** True for a versioned q35 machine type (what `q35` resolves to): PCIe root, ICH9 chipset. */
export function isQ35(machine: string | undefined): boolean {
  return (machine ?? '').startsWith('pc-q35');
}
