/**
 * virDomainOpenConsole for QEMU: a duplex stream on the guest side of a `<serial type='pty'>`
 * (or `<console type='pty'>`), the pty the live XML names, as libvirt's QEMU driver does.
 * One session per domain, in any tsvirt process (console-lease.ts): another open fails unless
 * VIR_DOMAIN_CONSOLE_FORCE, which ends the earlier session with a stream error (as virsh console
 * --force does to the first virsh).
 */
import fs from 'node:fs';
import tty from 'node:tty';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import type { DomainRef } from '../types';
import { consoleHeld, takeConsoleLease } from './console-lease';
import { requireActive } from './lifecycle';
import type { DomainDef } from '../../conf/domain-xml';
import { attr, child, children } from '../../conf/xml-tree';
import type { QemuDriverState } from './state';

/** VIR_DOMAIN_CONSOLE_FORCE: end an existing session instead of failing. */
export const CONSOLE_FORCE = 1 << 0;
/** VIR_DOMAIN_CONSOLE_SAFE: refuse unless sessions are tracked (they always are here). */
export const CONSOLE_SAFE = 1 << 1;

/** Open console sessions by domain UUID. */
const sessions = new Map<string, tty.ReadStream>();

function internal(detail: string): VirError {
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, detail);
}

/**
 * The pty of a libvirt device alias in the live definition, as libvirt finds it: serialN and
 * consoleN (a console is the serial port it mirrors) are the Nth `<serial>`, no name the first.
 * The live XML has the pty QEMU opened (live-xml.ts), so any tsvirt process can open the console,
 * not only the one holding the guest's monitor.
 */
function ptyPath(def: DomainDef, devName: string | null): string {
  const m = devName === null ? ['', '0'] : /^(?:serial|console)(\d+)$/.exec(devName);
  if (!m) throw internal(`cannot find character device ${devName}`);
  const devs = child(def.tree, 'devices');
  const serial = (devs ? children(devs, 'serial') : [])[Number(m[1])];
  if (!serial) throw internal(`cannot find character device ${devName ?? '<null>'}`);
  const path = attr(child(serial, 'source'), 'path');
  if ((attr(serial, 'type') ?? 'pty') !== 'pty' || !path) throw internal(`character device ${devName ?? 'serial0'} is not using a PTY`);
  return path;
}

/** Opens the console; the stream ends when QEMU exits or the caller destroys it. */
export async function openConsole(st: QemuDriverState, ref: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
  checkFlags(flags, CONSOLE_FORCE | CONSOLE_SAFE, 'qemuDomainOpenConsole', ErrorDomain.QEMU);
  const d = st.resolve(ref);
  requireActive(st, d);
  const path = ptyPath(d.def, devName);
  const leasePath = join(st.paths.runDir, `${d.def.uuid}.console`);
  const earlier = sessions.get(d.def.uuid);
  if ((earlier && !earlier.destroyed) || consoleHeld(leasePath)) {
    if (!(flags & CONSOLE_FORCE)) {
      throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'Active console session exists for this domain');
    }
    // The holder in another process ends its session when it sees the lease is no longer its own.
    if (earlier && !earlier.destroyed) earlier.destroy(replaced());
  }
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
  const lease = takeConsoleLease(leasePath);
  lease.watch(() => stream.destroy(replaced()));
  // Given up as the stream is destroyed, not on 'close': a tsvirsh may exit before that event.
  const destroyPty = stream._destroy.bind(stream);
  stream._destroy = (err, done) => {
    lease.release();
    destroyPty(err, done);
  };
  // The pty reads EIO once QEMU closes its side: that is the console's end, not a failure.
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EIO') stream.push(null);
  });
  stream.on('close', () => {
    if (sessions.get(d.def.uuid) === stream) sessions.delete(d.def.uuid);
  });
  return stream;
}

/** What ends a session a forced open replaced: the reader sees the stream fail, as with libvirt. */
function replaced(): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'console session replaced by a forced open');
}
