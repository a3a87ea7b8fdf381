/**
 * libvirt's error numbers (virterror.h). Values are part of libvirt's ABI and travel on the
 * wire, so they must never be renumbered.
 */
export enum ErrorCode {
  OK = 0,
  INTERNAL_ERROR = 1,
  NO_MEMORY = 2,
  NO_SUPPORT = 3,
  UNKNOWN_HOST = 4,
  NO_CONNECT = 5,
  INVALID_CONN = 6,
  INVALID_DOMAIN = 7,
  INVALID_ARG = 8,
  OPERATION_FAILED = 9,
  XML_ERROR = 27,
  DOM_EXIST = 28,
  OPERATION_DENIED = 29,
  OPEN_FAILED = 30,
  READ_FAILED = 31,
  PARSE_FAILED = 32,
  WRITE_FAILED = 34,
  XML_DETAIL = 35,
  SYSTEM_ERROR = 38,
  RPC = 39,
  NO_DOMAIN = 42,
  AUTH_FAILED = 45,
  OPERATION_INVALID = 55,
  CONFIG_UNSUPPORTED = 67,
  OPERATION_TIMEOUT = 68,
  ARGUMENT_UNSUPPORTED = 74,
  OPERATION_ABORTED = 78,
  OVERFLOW = 82,
  OPERATION_UNSUPPORTED = 84,
  RESOURCE_BUSY = 87,
  ACCESS_DENIED = 88,
}

/** Which part of libvirt raised an error (virErrorDomain). */
export enum ErrorDomain {
  NONE = 0,
  XML = 5,
  DOM = 6,
  RPC = 7,
  CONF = 9,
  QEMU = 10,
  TEST = 12,
  REMOTE = 13,
  STORAGE = 18,
  DOMAIN = 20,
  URI = 45,
}

/** Severity (virErrorLevel). */
export enum ErrorLevel {
  NONE = 0,
  WARNING = 1,
  ERROR = 2,
}

/**
 * Message templates as libvirt's virErrorMsg() chooses them: `withInfo` carries one `%s`
 * for the detail, `bare` is used when there is no detail.
 */
export const ERROR_TEMPLATES: Partial<Record<ErrorCode, { bare: string; withInfo: string }>> = {
  [ErrorCode.INTERNAL_ERROR]: { bare: 'internal error', withInfo: 'internal error: %s' },
  [ErrorCode.NO_MEMORY]: { bare: 'out of memory', withInfo: 'out of memory: %s' },
  [ErrorCode.NO_SUPPORT]: {
    bare: 'this function is not supported by the connection driver',
    withInfo: 'this function is not supported by the connection driver: %s',
  },
  [ErrorCode.NO_CONNECT]: {
    bare: 'no connection driver available',
    withInfo: 'no connection driver available for %s',
  },
  [ErrorCode.INVALID_CONN]: { bare: 'invalid connection pointer in', withInfo: 'invalid connection pointer in %s' },
  [ErrorCode.INVALID_DOMAIN]: { bare: 'invalid domain pointer in', withInfo: 'invalid domain pointer in %s' },
  [ErrorCode.INVALID_ARG]: { bare: 'invalid argument', withInfo: 'invalid argument: %s' },
  [ErrorCode.OPERATION_FAILED]: { bare: 'operation failed', withInfo: 'operation failed: %s' },
  [ErrorCode.XML_ERROR]: { bare: 'XML description is invalid or not well formed', withInfo: 'XML error: %s' },
  [ErrorCode.DOM_EXIST]: { bare: 'this domain exists already', withInfo: 'domain %s exists already' },
  [ErrorCode.OPERATION_DENIED]: { bare: 'operation forbidden for read only access', withInfo: 'operation forbidden: %s' },
  [ErrorCode.OPEN_FAILED]: { bare: 'failed to open configuration file', withInfo: 'failed to open configuration file %s' },
  [ErrorCode.READ_FAILED]: { bare: 'failed to read configuration file', withInfo: 'failed to read configuration file %s' },
  [ErrorCode.PARSE_FAILED]: { bare: 'failed to parse configuration file', withInfo: 'failed to parse configuration file %s' },
  [ErrorCode.WRITE_FAILED]: { bare: 'failed to write configuration file', withInfo: 'failed to write configuration file: %s' },
  [ErrorCode.XML_DETAIL]: { bare: 'parser error', withInfo: '%s' },
  [ErrorCode.SYSTEM_ERROR]: { bare: 'system call error', withInfo: '%s' },
  [ErrorCode.RPC]: { bare: 'RPC error', withInfo: '%s' },
  [ErrorCode.NO_DOMAIN]: { bare: 'Domain not found', withInfo: 'Domain not found: %s' },
  [ErrorCode.AUTH_FAILED]: { bare: 'authentication failed', withInfo: 'authentication failed: %s' },
  [ErrorCode.OPERATION_INVALID]: {
    bare: 'Requested operation is not valid',
    withInfo: 'Requested operation is not valid: %s',
  },
  [ErrorCode.CONFIG_UNSUPPORTED]: { bare: 'unsupported configuration', withInfo: 'unsupported configuration: %s' },
  [ErrorCode.OPERATION_TIMEOUT]: { bare: 'Timed out during operation', withInfo: 'Timed out during operation: %s' },
  [ErrorCode.ARGUMENT_UNSUPPORTED]: { bare: 'argument unsupported', withInfo: 'argument unsupported: %s' },
  [ErrorCode.OPERATION_ABORTED]: { bare: 'operation aborted', withInfo: 'operation aborted: %s' },
  [ErrorCode.OVERFLOW]: { bare: 'value too large', withInfo: 'value too large: %s' },
  [ErrorCode.OPERATION_UNSUPPORTED]: { bare: 'Operation not supported', withInfo: 'Operation not supported: %s' },
  [ErrorCode.RESOURCE_BUSY]: { bare: 'resource busy', withInfo: 'resource busy: %s' },
  [ErrorCode.ACCESS_DENIED]: { bare: 'access denied', withInfo: 'access denied: %s' },
};
