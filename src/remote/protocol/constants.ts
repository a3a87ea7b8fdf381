/**
 * Limits and enumerations of remote_protocol.x that tsvirt uses. They are part of the wire
 * contract with stock libvirt peers: a bound smaller than upstream's would reject valid
 * messages, a larger one would let us send what libvirt refuses.
 */

/** REMOTE_STRING_MAX: bound of every remote_nonnull_string. */
export const REMOTE_STRING_MAX = 4194304;
/** REMOTE_DOMAIN_LIST_MAX: bound of domain, id and name lists. */
export const REMOTE_DOMAIN_LIST_MAX = 16384;
/** REMOTE_STORAGE_POOL_LIST_MAX: bound of storage pool lists. */
export const REMOTE_STORAGE_POOL_LIST_MAX = 16384;
/** REMOTE_AUTH_TYPE_LIST_MAX. */
export const REMOTE_AUTH_TYPE_LIST_MAX = 20;
/** REMOTE_DOMAIN_JOB_STATS_MAX. */
export const REMOTE_DOMAIN_JOB_STATS_MAX = 64;
/** REMOTE_DOMAIN_SAVE_PARAMS_MAX. */
export const REMOTE_DOMAIN_SAVE_PARAMS_MAX = 64;
/** REMOTE_DOMAIN_RESTORE_PARAMS_MAX. */
export const REMOTE_DOMAIN_RESTORE_PARAMS_MAX = 64;
/** REMOTE_DOMAIN_MESSAGES_MAX. */
export const REMOTE_DOMAIN_MESSAGES_MAX = 2048;
/** VIR_UUID_BUFLEN: a remote_uuid is this many raw bytes. */
export const VIR_UUID_BUFLEN = 16;
/** REMOTE_SECURITY_MODEL_MAX = VIR_SECURITY_MODEL_BUFLEN (256 + NUL). */
export const REMOTE_SECURITY_MODEL_MAX = 257;
/** REMOTE_SECURITY_LABEL_MAX = VIR_SECURITY_LABEL_BUFLEN (4096 + NUL). */
export const REMOTE_SECURITY_LABEL_MAX = 4097;
/** REMOTE_SECURITY_DOI_MAX = VIR_SECURITY_DOI_BUFLEN (256 + NUL). */
export const REMOTE_SECURITY_DOI_MAX = 257;

/** remote_auth_type. */
export enum RemoteAuthType {
  NONE = 0,
  SASL = 1,
  POLKIT = 2,
}

/** The VIR_DRV_FEATURE_* numbers clients probe with CONNECT_SUPPORTS_FEATURE. */
export enum DrvFeature {
  TYPED_PARAM_STRING = 9,
  PROGRAM_KEEPALIVE = 10,
  REMOTE_EVENT_CALLBACK = 14,
  REMOTE_CLOSE_CALLBACK = 15,
}

/** VIR_CONNECT_RO in remote_connect_open_args.flags: the client asks for a read-only connection. */
export const VIR_CONNECT_RO = 1;

/** REMOTE_AUTH_SASL_DATA_MAX: bound of one SASL step's data. */
export const REMOTE_AUTH_SASL_DATA_MAX = 65536;
