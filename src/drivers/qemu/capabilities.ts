/**
 * QEMU binary capabilities, probed once per binary (path + mtime + size) and kept for the life
 * of the process and, between processes, on disk (capabilities-cache.ts), as libvirt's
 * capability cache does. Every mode that depends on what QEMU can
 * do asks here by name (a migration capability, a migration parameter, a backend property):
 * never by version, so a backported or patched QEMU is judged by what it offers.
 *
 * Two ways in: through the monitor of a guest that is already running (free), or, when a choice
 * has to be made before a guest starts (its RAM backend, instant restore's mapping), by starting
 * the binary once with `-machine none` and asking over a private QMP socket, as libvirt does.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { isStringList, persisted } from './capabilities-cache';
import { emulatorEnv, firmwareArgs } from './emulator';
import { terminateProcess } from './process';
import { QmpClient, probeQemuCapabilities, type QemuCapabilities } from './qmp';

/** What tsvirt knows about one QEMU binary. */
export interface QemuBinaryCapabilities extends QemuCapabilities {
  /** Names of the migration parameters (`query-migrate-parameters` keys), e.g. "direct-io". */
  migrationParameters: string[];
  /** Properties of the `memory-backend-file` object type, e.g. "offset" (QEMU 8.1+). */
  fileBackendProperties: string[];
  /** Machine type names and aliases (`query-machines`). */
  machines: string[];
  /** The machine types in QEMU's order (`query-machines`), for the capabilities documents. */
  machineTypes: MachineType[];
  /** The CPU models (`query-cpu-definitions`) and whether this host can run each. */
  cpuModels: CpuModel[];
  /** The guest architecture the binary emulates, in libvirt's spelling (`query-target`). */
  arch: string;
}

/** One `query-machines` entry. */
export interface MachineType {
  name: string;
  /** The short name that points at it (`pc` for the newest i440fx). */
  alias?: string;
  isDefault: boolean;
  cpuMax: number;
  deprecated: boolean;
}

/** One `query-cpu-definitions` entry. */
export interface CpuModel {
  name: string;
  /** False when QEMU lists features the host (or TCG) lacks for it. */
  usable: boolean;
}

const cache = new Map<string, Promise<QemuBinaryCapabilities>>();

const noAcpiCache = new Map<string, Promise<boolean>>();

/**
 * True when `binary` still accepts `-no-acpi`. QEMU handles its options in order and exits at
 * `-version`, so `-no-acpi -version` fails at once where the option is gone (QEMU 9+) and prints
 * the version where it exists; nothing else starts.
 */
export function acceptsNoAcpiOption(binary: string): Promise<boolean> {
  const key = keyOf(binary);
  let p = noAcpiCache.get(key);
  if (!p) {
    // Only QEMU's own verdict (an exit status) is an answer worth keeping; a timeout or a failed
    // spawn is asked again next time.
    const ask = (): Promise<boolean> =>
      new Promise<boolean>((resolve, reject) => {
        execFile(binary, ['-no-acpi', '-version'], { timeout: PROBE_TIMEOUT_MS }, (err) => {
          if (!err) return resolve(true);
          if (typeof err.code === 'number' && !err.killed) return resolve(false);
          reject(err);
        });
      });
    p = persisted('no-acpi', binary, (v): v is boolean => typeof v === 'boolean', ask).catch(() => false);
    noAcpiCache.set(key, p);
  }
  return p;
}

/** How long a probe of a binary may take (a loaded 2-core machine starts QEMU slowly). */
const PROBE_TIMEOUT_MS = 30_000;

function keyOf(binary: string): string {
  try {
    const st = statSync(binary);
    return `${binary}:${st.mtimeMs}:${st.size}`;
  } catch {
    return binary;
  }
}

function namesFrom(reply: unknown, key: string): string[] {
  if (!Array.isArray(reply)) return [];
  const out: string[] = [];
  for (const e of reply) {
    const v = (e as Record<string, unknown> | null)?.[key];
    if (typeof v === 'string') out.push(v);
  }
  return out;
}

function machineTypesFrom(reply: unknown): MachineType[] {
  if (!Array.isArray(reply)) return [];
  const out: MachineType[] = [];
  for (const e of reply as Array<Record<string, unknown> | null>) {
    if (!e || typeof e.name !== 'string') continue;
    out.push({
      name: e.name,
      ...(typeof e.alias === 'string' ? { alias: e.alias } : {}),
      isDefault: e['is-default'] === true,
      cpuMax: typeof e['cpu-max'] === 'number' ? e['cpu-max'] : 1,
      deprecated: e.deprecated === true,
    });
  }
  return out;
}

function cpuModelsFrom(reply: unknown): CpuModel[] {
  if (!Array.isArray(reply)) return [];
  const out: CpuModel[] = [];
  for (const e of reply as Array<Record<string, unknown> | null>) {
    if (!e || typeof e.name !== 'string') continue;
    const missing = e['unavailable-features'];
    out.push({ name: e.name, usable: !Array.isArray(missing) || missing.length === 0 });
  }
  return out;
}

/** The basic probe plus the parameters and object properties later choices depend on. */
async function probeThrough(qmp: QmpClient): Promise<QemuBinaryCapabilities> {
  const [base, params, props, machines, cpus, target] = await Promise.all([
    probeQemuCapabilities(qmp),
    qmp.execute('query-migrate-parameters'),
    // Absent on very old QEMUs: an empty list then, and nothing depends on it being there.
    qmp.execute('qom-list-properties', { typename: 'memory-backend-file' }).catch(() => []),
    qmp.execute('query-machines'),
    // Only targets with CPU models have it; an empty list elsewhere.
    qmp.execute('query-cpu-definitions').catch(() => []),
    qmp.execute('query-target'),
  ]);
  const qemuArch = (target as Record<string, unknown> | null)?.arch;
  const aliases = Array.isArray(machines) ? namesFrom(machines, 'alias') : [];
  return {
    ...base,
    migrationParameters: params && typeof params === 'object' && !Array.isArray(params) ? Object.keys(params) : [],
    fileBackendProperties: namesFrom(props, 'name'),
    machines: [...namesFrom(machines, 'name'), ...aliases],
    machineTypes: machineTypesFrom(machines),
    cpuModels: cpuModelsFrom(cpus),
    // QEMU says i386 where libvirt says i686; the other names agree.
    arch: qemuArch === 'i386' ? 'i686' : typeof qemuArch === 'string' ? qemuArch : '',
  };
}

/** The shape of a recorded probe (a record on disk is checked before it is believed). */
function isBinaryCapabilities(v: unknown): v is QemuBinaryCapabilities {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  const version = c.version as Record<string, unknown> | null;
  const objects = (x: unknown, fields: Record<string, string>): boolean =>
    Array.isArray(x) && x.every((e) => e && typeof e === 'object' && Object.entries(fields).every(([k, t]) => typeof (e as Record<string, unknown>)[k] === t));
  return (
    !!version && typeof version === 'object' && ['major', 'minor', 'micro'].every((k) => typeof version[k] === 'number') &&
    typeof c.package === 'string' && typeof c.arch === 'string' &&
    [c.migrationCapabilities, c.commands, c.migrationParameters, c.fileBackendProperties, c.machines].every(isStringList) &&
    objects(c.machineTypes, { name: 'string', isDefault: 'boolean', cpuMax: 'number', deprecated: 'boolean' }) &&
    objects(c.cpuModels, { name: 'string', usable: 'boolean' })
  );
}

function cached(binary: string, probe: () => Promise<QemuBinaryCapabilities>): Promise<QemuBinaryCapabilities> {
  const key = keyOf(binary);
  const hit = cache.get(key);
  if (hit) return hit;
  const p = persisted('caps', binary, isBinaryCapabilities, probe);
  cache.set(key, p);
  // A failed probe is not remembered: the next caller tries again.
  p.catch(() => cache.delete(key));
  return p;
}

/** Probes through a connected monitor unless the binary is already known. */
export function capabilitiesFor(binary: string, qmp: QmpClient): Promise<QemuBinaryCapabilities> {
  return cached(binary, () => probeThrough(qmp));
}

/**
 * The capabilities of `binary` without a guest: starts it once with `-machine none` (no RAM, no
 * devices) on a private QMP socket, asks, and quits it. Cached like {@link capabilitiesFor}.
 * SYSTEM_ERROR naming the binary when it cannot be started.
 */
export function binaryCapabilities(binary: string): Promise<QemuBinaryCapabilities> {
  return cached(binary, () => withProbeQemu(binary, probeThrough));
}

const typesCache = new Map<string, Promise<string[]>>();

/**
 * Every concrete QOM type of `binary` (`qom-list-types`: device models, backends, machines),
 * asked of a QEMU of its own, never of a guest's: listing the types makes QEMU load every module
 * it knows of, which a running guest should not do (an unpacked QEMU beside another build's
 * modules was seen to abort on it, taking the guest with it). Cached per binary.
 */
export function qomTypesOf(binary: string): Promise<string[]> {
  const key = keyOf(binary);
  let p = typesCache.get(key);
  if (!p) {
    p = persisted('qom-types', binary, isStringList, () => withProbeQemu(binary, async (qmp) => namesFrom(await qmp.execute('qom-list-types', { abstract: false }), 'name')));
    typesCache.set(key, p);
    p.catch(() => typesCache.delete(key));
  }
  return p;
}

/** Runs `ask` against `binary` started with `-machine none` on a private QMP socket, then quits it. */
async function withProbeQemu<T>(binary: string, ask: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-probe-'));
  const sock = join(dir, 'qmp');
  const child = spawn(
    binary,
    [...firmwareArgs(binary), '-machine', 'none', '-nodefaults', '-display', 'none', '-S', '-qmp', `unix:${sock},server=on,wait=off`],
    { stdio: ['ignore', 'ignore', 'pipe'], env: emulatorEnv(binary) },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let qmp: QmpClient | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(VirError.system(ErrorDomain.QEMU, `Cannot find QEMU binary ${binary}`, err)));
    });
    const ac = new AbortController();
    exited.then(() => ac.abort());
    try {
      qmp = await QmpClient.connect(sock, { retry: true, timeoutMs: PROBE_TIMEOUT_MS, name: 'capabilities probe', signal: ac.signal });
    } catch (err) {
      if (!ac.signal.aborted) throw err;
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `Failed to probe capabilities for ${binary}: ${stderr.trim() || 'QEMU exited'}`);
    }
    return await ask(qmp);
  } finally {
    qmp?.close();
    if (child.pid && child.exitCode === null && child.signalCode === null) await terminateProcess(child.pid, 1000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** OPERATION_UNSUPPORTED naming what this QEMU lacks for `what`. */
export function missingCapability(what: string, kind: string, name: string): VirError {
  return VirError.report(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, `${what} needs the QEMU ${kind} '${name}', which this QEMU lacks`);
}
