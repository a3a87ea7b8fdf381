/**
 * QEMU domain autostart, kept as libvirt keeps it: a symlink `autostart/NAME.xml` in the config
 * directory pointing at the domain's config, so it survives restarts of every process.
 *
 * "Starts when the host boots" means, for tsvirt (which has no daemon that starts with the
 * host): the first open of the URI after the run directory was emptied (a reboot for
 * `qemu:///system`'s /run, the end of the login session for `qemu:///session`'s
 * XDG_RUNTIME_DIR). A marker file in the run directory, created exclusively, makes exactly one
 * process of that boot do it; a domain already running (found by the reconnect) is left alone,
 * and each start goes through the domain lock, so two openers never start one guest twice.
 */
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import type { DomainRef } from '../types';
import type { QemuDomain } from './domain-obj';
import type { QemuDriverState } from './state';

const log = moduleLogger('qemu-autostart');

function linkExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** virDomainGetAutostart: read from disk, as another process may have changed it. */
export function getAutostart(st: QemuDriverState, d: QemuDomain): boolean {
  return d.persistent && linkExists(st.autostartPath(d.def.name));
}

/** virDomainSetAutostart: transient domains are refused with libvirt's QEMU error. */
export function setAutostart(st: QemuDriverState, ref: DomainRef, on: boolean): void {
  const d = st.resolve(ref);
  if (!d.persistent) {
    throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU, 'cannot set autostart for transient domain');
  }
  const link = st.autostartPath(d.def.name);
  if (on === linkExists(link)) return;
  if (on) {
    mkdirSync(dirname(link), { recursive: true, mode: 0o700 });
    try {
      symlinkSync(st.configPath(d.def.name), link);
    } catch (err) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `Failed to create symlink '${link}' to '${st.configPath(d.def.name)}': ${(err as Error).message}`);
    }
  } else {
    rmSync(link, { force: true });
  }
}

/**
 * Starts every autostart domain that is shut off, once per boot (see the file comment). Each
 * failure is logged and the next domain still starts, as in libvirt.
 */
export async function autostartOnce(st: QemuDriverState, start: (ref: DomainRef) => Promise<unknown>): Promise<void> {
  const marker = join(st.paths.runDir, 'autostarted');
  if (existsSync(marker)) return;
  try {
    writeFileSync(marker, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch {
    return; // another process of this boot took it
  }
  for (const d of [...st.domains]) {
    if (!getAutostart(st, d) || st.isActive(d)) continue;
    try {
      await start(st.ref(d));
      log.info({ domain: d.def.name }, 'autostarted');
    } catch (err) {
      log.warn({ domain: d.def.name, err: (err as Error).message }, 'autostart failed');
    }
  }
}
