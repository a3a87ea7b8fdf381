/**
 * libvirt-qemu's virDomainQemuMonitorCommand for tsvirt: run a raw QMP command on a guest this
 * process manages. Unsupported by libvirt's stability promise as much as tsvirt's; tests use it
 * for `pmemsave`.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { monitorOf } from './lifecycle';
import { allStates } from './state';

/** Runs `command` on the monitor of the active domain with `uuid` and returns QEMU's reply. */
export async function qemuMonitorCommand(uuid: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  for (const st of allStates()) {
    const d = st.domains.find((x) => x.def.uuid === uuid && st.isActive(x));
    if (d) return monitorOf(d).execute(command, args);
  }
  throw VirError.report(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, `no active domain with matching uuid '${uuid}'`);
}

/** The QEMU pid of the active domain with `uuid` in this process, or undefined. */
export function qemuPidOf(uuid: string): number | undefined {
  for (const st of allStates()) {
    const d = st.domains.find((x) => x.def.uuid === uuid && st.isActive(x));
    if (d?.proc) return d.proc.pid;
  }
  return undefined;
}
