/**
 * virDomainOpenConsole for QEMU: a duplex stream on the guest side of a `<serial type='pty'>`
 * (or `<console type='pty'>`), found through QMP `query-chardev`, as libvirt's QEMU driver does.
 * One session per domain: another open fails unless VIR_DOMAIN_CONSOLE_FORCE, which ends the
 * earlier session (as virsh console --force).
 */
import fs from 'node:fs';
import tty from 'node:tty';
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import type { DomainRef } from '../types';
import { monitorOf, requireActive } from './lifecycle';
import type { QemuDriverState } from './state';

/** VIR_DOMAIN_CONSOLE_FORCE: end an existing session instead of failing. */
export const CONSOLE_FORCE = 1 << 0;
/** VIR_DOMAIN_CONSOLE_SAFE: refuse unless sessions are tracked (they always are here). */
export const CONSOLE_SAFE = 1 << 1;

/** Open console sessions by domain UUID. */
const sessions = new Map<string, tty.ReadStream>();

interface ChardevInfo {
  label: string;
  filename: string;
}

function internal(detail: string): VirError {
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, detail);
}

/**
 * QEMU's chardev id for a libvirt device alias: serialN and consoleN (a console is the serial
 * port it mirrors) are `charserialN`, the ids the command line gives them; no name = the first.
 */
function chardevId(devName: string | null): string {
  if (devName === null) return 'charserial0';
  const m = /^(?:serial|console)(\d+)$/.exec(devName);
  if (!m) throw internal(`cannot find character device ${devName}`);
  return `charserial${m[1]}`;
}

/** Opens the console; the stream ends when QEMU exits or the caller destroys it. */
export async function openConsole(st: QemuDriverState, ref: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
  checkFlags(flags, CONSOLE_FORCE | CONSOLE_SAFE, 'qemuDomainOpenConsole', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  requireActive(st, d);
  const id = chardevId(devName);
  const list = (await monitorOf(d).execute('query-chardev')) as ChardevInfo[];
  const dev = list.find((c) => c.label === id);
  if (!dev) throw internal(`cannot find character device ${devName ?? '<null>'}`);
  if (!dev.filename.startsWith('pty:')) throw internal(`character device ${devName ?? 'serial0'} is not using a PTY`);
  const earlier = sessions.get(d.def.uuid);
  if (earlier && !earlier.destroyed) {
    if (!(flags & CONSOLE_FORCE)) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'Active console session exists for this domain');
    }
    earlier.destroy();
  }
  const path = dev.filename.slice('pty:'.length);
  let fd: number;
  try {
    // O_NOCTTY: the pty must never become the controlling terminal of a daemon.
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  } catch (err) {
    throw VirError.report(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `Unable to open console '${path}': ${(err as Error).message}`);
  }
  // QEMU set the pty raw; setting it again keeps a console opened after a guest's stty raw too.
  const stream = new tty.ReadStream(fd);
  stream.setRawMode(true);
  sessions.set(d.def.uuid, stream);
  // The pty reads EIO once QEMU closes its side: that is the console's end, not a failure.
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EIO') stream.push(null);
  });
  stream.on('close', () => {
    if (sessions.get(d.def.uuid) === stream) sessions.delete(d.def.uuid);
  });
  return stream;
}
