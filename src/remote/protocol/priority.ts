/**
 * Procedures libvirt marks `@priority: high` in remote_protocol.x (the subset tsvirt speaks):
 * calls that never block on a domain job, so a daemon runs them even while a client's ordinary
 * request slots are all taken by long calls. This is what lets `domjobinfo` and `domjobabort`
 * overtake a running save on the same connection.
 */
import type { RemoteProcedureName } from './table';

/** Names of the high-priority procedures. */
export const HIGH_PRIORITY_PROCEDURES: ReadonlySet<RemoteProcedureName> = new Set<RemoteProcedureName>([
  'AUTH_LIST',
  'CONNECT_SUPPORTS_FEATURE',
  'CONNECT_GET_TYPE',
  'CONNECT_GET_VERSION',
  'CONNECT_GET_LIB_VERSION',
  'CONNECT_GET_HOSTNAME',
  'CONNECT_GET_URI',
  'CONNECT_IS_SECURE',
  'CONNECT_LIST_ALL_DOMAINS',
  'NODE_GET_INFO',
  'NODE_GET_SECURITY_MODEL',
  'DOMAIN_LOOKUP_BY_ID',
  'DOMAIN_LOOKUP_BY_NAME',
  'DOMAIN_LOOKUP_BY_UUID',
  'DOMAIN_GET_INFO',
  'DOMAIN_GET_STATE',
  'DOMAIN_GET_XML_DESC',
  'DOMAIN_GET_OS_TYPE',
  'DOMAIN_GET_AUTOSTART',
  'DOMAIN_GET_SECURITY_LABEL',
  'DOMAIN_GET_MESSAGES',
  'DOMAIN_IS_ACTIVE',
  'DOMAIN_IS_PERSISTENT',
  'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
  'DOMAIN_GET_JOB_INFO',
  'DOMAIN_GET_JOB_STATS',
  'DOMAIN_ABORT_JOB',
  'DOMAIN_ABORT_JOB_FLAGS',
]);

/** True when the procedure with this name may run past a client's request limit. */
export function isHighPriority(name: string): boolean {
  return HIGH_PRIORITY_PROCEDURES.has(name as RemoteProcedureName);
}
