/**
 * The VirErrors the QMP client raises. Wording and codes follow libvirt's qemu_monitor.c and
 * qemu_monitor_json.c so that messages seen by tsvirt users match what libvirt users see.
 */
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError, type VirErrorFields } from '../../../util/vir-error';
import type { QmpErrorBody } from './types';

/**
 * A command QEMU answered with `{"error": ...}`. It is an INTERNAL_ERROR like libvirt's, but keeps
 * the QMP error class so a driver can tell, e.g., CommandNotFound from GenericError without
 * parsing the message.
 */
export class QmpCommandError extends VirError {
  /** The command that failed. */
  readonly command: string;
  /** QMP's error class ("GenericError", "CommandNotFound", "DeviceNotFound", ...), or null. */
  readonly qmpClass: string | null;
  /** QMP's human-readable description, or null. */
  readonly qmpDesc: string | null;

  /** Wraps already formatted VirError fields together with the QMP error details. */
  constructor(fields: VirErrorFields, command: string, body: QmpErrorBody | null) {
    super(fields);
    this.name = 'QmpCommandError';
    this.command = command;
    this.qmpClass = typeof body?.class === 'string' ? body.class : null;
    this.qmpDesc = typeof body?.desc === 'string' ? body.desc : null;
  }
}

/**
 * `{"error": {...}}` for `command`. libvirt reports every QMP error as VIR_ERR_INTERNAL_ERROR
 * "unable to execute QEMU command '<cmd>': <desc>", falling back to the class-less wording when
 * QEMU gave no usable description.
 */
export function qmpCommandError(command: string, body: QmpErrorBody | null): QmpCommandError {
  const desc = body && typeof body.desc === 'string' && body.desc !== '' ? body.desc : 'unknown QEMU command error';
  const base = VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `unable to execute QEMU command '${command}': ${desc}`);
  return new QmpCommandError(base.toFields(), command, body);
}

/** A reply with neither `return` nor `error` (libvirt: the message without a description). */
export function qmpMissingReturnError(command: string): QmpCommandError {
  const base = VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `unable to execute QEMU command '${command}'`);
  return new QmpCommandError(base.toFields(), command, null);
}

/** QEMU closed the monitor socket (libvirt: "End of file from qemu monitor"). */
export function monitorEofError(name?: string): VirError {
  const suffix = name ? ` (vm='${name}')` : '';
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `End of file from qemu monitor${suffix}`);
}

/** Reading the socket failed, e.g. ECONNRESET (libvirt: virReportSystemError "Unable to read from monitor"). */
export function monitorReadError(err: unknown): VirError {
  return systemError('Unable to read from monitor', err);
}

/** Writing the socket failed, e.g. EPIPE (libvirt: "Unable to write to monitor"). */
export function monitorWriteError(err: unknown): VirError {
  return systemError('Unable to write to monitor', err);
}

/** Connecting to the socket failed (libvirt: "failed to connect to monitor socket"). */
export function monitorConnectError(err: unknown): VirError {
  return systemError('failed to connect to monitor socket', err);
}

/** A line from QEMU that is not JSON (libvirt's virJSONValueFromString wording). */
export function monitorParseError(line: string, reason: string): VirError {
  const shown = line.length > 200 ? `${line.slice(0, 200)}...` : line;
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `cannot parse json ${shown}: ${reason}`);
}

/** A JSON value that is not a QMP message (libvirt: "Unknown JSON reply"). */
export function monitorUnexpectedMessageError(line: string): VirError {
  const shown = line.length > 200 ? `${line.slice(0, 200)}...` : line;
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `Unknown JSON reply '${shown}'`);
}

/** libvirt caps one monitor message at 10 MiB so a broken QEMU cannot exhaust memory. */
export function monitorOverflowError(limit: number): VirError {
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `QEMU monitor reply exceeds buffer size (${limit} bytes)`);
}

/** The first message was not a `{"QMP": ...}` greeting. */
export function greetingError(what: string): VirError {
  return VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `unexpected QMP greeting from QEMU monitor: ${what}`);
}

/** The caller closed the client: pending and later calls fail with this. */
export function monitorClosedError(): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, 'QEMU monitor closed');
}

/** Something did not happen within its time budget. */
export function monitorTimeoutError(what: string, timeoutMs: number): VirError {
  return VirError.report(ErrorCode.OPERATION_TIMEOUT, ErrorDomain.QEMU, `${what} within ${timeoutMs} ms`);
}

/** A wait the caller cancelled through its AbortSignal. */
export function abortedError(what: string): VirError {
  return VirError.report(ErrorCode.OPERATION_ABORTED, ErrorDomain.QEMU, what);
}

/**
 * strerror() texts for the socket errnos a monitor sees; VirError's own table lacks the
 * connection ones and libvirt users know these exact strings from its logs.
 */
const SOCKET_ERRNO_TEXT: Record<string, string> = {
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ENOTCONN: 'Transport endpoint is not connected',
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out',
  EAGAIN: 'Resource temporarily unavailable',
  ENOTSOCK: 'Socket operation on non-socket',
};

function systemError(what: string, err: unknown): VirError {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e && typeof e === 'object' ? e.code : undefined;
  const reason = (code && SOCKET_ERRNO_TEXT[code]) || (err instanceof Error ? err.message : String(err));
  return VirError.report(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `${what}: ${reason}`, { cause: err });
}
