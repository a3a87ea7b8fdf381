/**
 * libvirt's RPC wire protocol: the XDR codec, framing, the procedure table, the remote driver
 * (client) and tsvirtd (daemon).
 */
export * from './client';
export * from './daemon';
export { defaultSocketDir, pkiFiles, RW_SOCKET_NAME, RO_SOCKET_NAME, DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, type PkiFiles } from './paths';
export { DEFAULT_KEEPALIVE, KeepaliveMonitor, type KeepaliveOptions } from './rpc/keepalive';
