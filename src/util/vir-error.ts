import { ERROR_TEMPLATES, ErrorCode, ErrorDomain, ErrorLevel } from './error-codes';

/** Everything a libvirt `virError` / `remote_error` carries, so an error crosses the wire unchanged. */
export interface VirErrorFields {
  code: number;
  domain: number;
  message: string;
  level?: number;
  str1?: string | null;
  str2?: string | null;
  str3?: string | null;
  int1?: number;
  int2?: number;
}

/**
 * The one error type of tsvirt. Every failure that leaves a tsvirt layer is a VirError with
 * libvirt's numeric code and domain, so callers (and stock libvirt clients on the far side of
 * the wire) can branch on `code` exactly as they would with libvirt.
 */
export class VirError extends Error {
  readonly code: number;
  readonly domain: number;
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;

  /** Builds an error from already formatted fields (used when decoding one from the wire). */
  constructor(fields: VirErrorFields, options?: { cause?: unknown }) {
    super(fields.message, options);
    this.name = 'VirError';
    this.code = fields.code;
    this.domain = fields.domain;
    this.level = fields.level ?? ErrorLevel.ERROR;
    this.str1 = fields.str1 ?? null;
    this.str2 = fields.str2 ?? null;
    this.str3 = fields.str3 ?? null;
    this.int1 = fields.int1 ?? -1;
    this.int2 = fields.int2 ?? -1;
  }

  /**
   * Raises an error the way libvirt's virReportError does: the message is the code's template
   * filled with `detail`; str1 keeps the template and str2 the detail, as libvirt sends them.
   */
  static report(code: ErrorCode, domain: ErrorDomain, detail?: string, options?: { cause?: unknown }): VirError {
    const tmpl = ERROR_TEMPLATES[code];
    let message: string;
    let str1: string | null = null;
    if (tmpl) {
      str1 = detail === undefined ? tmpl.bare : tmpl.withInfo;
      message = detail === undefined ? tmpl.bare : tmpl.withInfo.replace('%s', detail);
    } else {
      message = detail ?? `error ${code}`;
      str1 = detail === undefined ? message : '%s';
    }
    return new VirError({ code, domain, message, str1, str2: detail ?? null }, options);
  }

  /**
   * An error whose message libvirt prints without the code's template (libvirt's
   * virReportInvalidArg-style checks in the public layer do this).
   */
  static plain(code: ErrorCode, domain: ErrorDomain, message: string): VirError {
    return new VirError({ code, domain, message, str1: '%s', str2: message });
  }

  /** A system call failed: libvirt formats "<what>: <strerror>" with SYSTEM_ERROR. */
  static system(domain: ErrorDomain, what: string, err: unknown): VirError {
    const e = err as NodeJS.ErrnoException;
    const reason = e && typeof e === 'object' && 'code' in e ? describeErrno(e) : String(err);
    return VirError.report(ErrorCode.SYSTEM_ERROR, domain, `${what}: ${reason}`, { cause: err });
  }

  /** Wraps anything thrown into a VirError, keeping a VirError as it is. */
  static from(err: unknown, domain: ErrorDomain = ErrorDomain.NONE): VirError {
    if (err instanceof VirError) return err;
    if (err && typeof err === 'object' && 'code' in err && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
      return VirError.system(domain, (err as NodeJS.ErrnoException).syscall ?? 'system call', err);
    }
    const msg = err instanceof Error ? err.message : String(err);
    return VirError.report(ErrorCode.INTERNAL_ERROR, domain, msg, { cause: err });
  }

  /** The plain fields, for logging and for the wire. */
  toFields(): Required<VirErrorFields> {
    return {
      code: this.code,
      domain: this.domain,
      message: this.message,
      level: this.level,
      str1: this.str1,
      str2: this.str2,
      str3: this.str3,
      int1: this.int1,
      int2: this.int2,
    };
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOSPC: 'No space left on device',
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EINVAL: 'Invalid argument',
  ECONNREFUSED: 'Connection refused',
  EPIPE: 'Broken pipe',
  EIO: 'Input/output error',
  EROFS: 'Read-only file system',
  EBUSY: 'Device or resource busy',
  ELOOP: 'Too many levels of symbolic links',
  ENXIO: 'No such device or address',
  ENODEV: 'No such device',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
};

/** strerror()-like text, since Node's messages ("ENOENT: no such file...") are not libvirt's. */
function describeErrno(e: NodeJS.ErrnoException): string {
  return (e.code && ERRNO_TEXT[e.code]) || e.message;
}

/** True when `err` is a VirError with the given code (helper for callers and tests). */
export function isVirError(err: unknown, code?: ErrorCode): err is VirError {
  return err instanceof VirError && (code === undefined || err.code === code);
}
