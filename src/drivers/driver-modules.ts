/**
 * Third-party drivers loaded by module name or path, for tsvirsh and tsvirtd's `--driver
 * MODULE`. A driver module either calls `registerDriver(...)` itself when it loads, or exports
 * its ConnectionDriver(s) (as `driver`, `default`, or any named export), registered here.
 * Relative paths are taken from the current directory, bare names resolved from it as Node.js
 * resolves packages, so `--driver ./my-driver.js` and `--driver tsvirt-driver-foo` both work.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import type { ConnectionDriver } from './connection-driver';
import { registerDriver, registeredDrivers } from './registry';

function isConnectionDriver(v: unknown): v is ConnectionDriver {
  return typeof v === 'object' && v !== null && typeof (v as ConnectionDriver).name === 'string' && typeof (v as ConnectionDriver).open === 'function';
}

/** The module's exported drivers: any export (or list export) shaped as a ConnectionDriver. */
function exportedDrivers(mod: Record<string, unknown>): ConnectionDriver[] {
  const out: ConnectionDriver[] = [];
  const defaults = typeof mod.default === 'object' && mod.default !== null ? Object.values(mod.default) : [];
  for (const v of [...Object.values(mod), ...defaults]) {
    for (const d of Array.isArray(v) ? v : [v]) if (isConnectionDriver(d) && !out.includes(d)) out.push(d);
  }
  return out;
}

/** Loads a module by path or package name, as CommonJS or (when it is one) as an ES module. */
async function loadModule(spec: string, cwd: string): Promise<Record<string, unknown>> {
  const file = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(cwd, spec) : require.resolve(spec, { paths: [cwd] });
  try {
    return require(file) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw err;
    // TypeScript would turn import() into require() in this CommonJS build; this keeps it real.
    const importEsm = new Function('u', 'return import(u)') as (u: string) => Promise<Record<string, unknown>>;
    return importEsm(pathToFileURL(file).href);
  }
}

/**
 * Loads each driver module in order and registers what it exports. A module that cannot be
 * found or loaded, or that neither registers nor exports a driver, fails with a VirError
 * naming it; drivers registered before the failure stay registered.
 */
export async function loadDriverModules(specs: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const names: string[] = [];
  for (const spec of specs) {
    const before = new Set(registeredDrivers().map((d) => d.name));
    let mod: Record<string, unknown>;
    try {
      mod = await loadModule(spec, cwd);
    } catch (err) {
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `failed to load driver module '${spec}': ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    for (const d of exportedDrivers(mod)) if (!registeredDrivers().includes(d)) registerDriver(d);
    const added = registeredDrivers().map((d) => d.name).filter((n) => !before.has(n));
    if (added.length === 0 && exportedDrivers(mod).length === 0) {
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `driver module '${spec}' neither registers nor exports a connection driver`);
    }
    names.push(...added);
  }
  return names;
}
