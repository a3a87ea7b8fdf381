/**
 * libvirt's RPC wire protocol, the layer both the remote driver (src/drivers/remote) and tsvirtd
 * (src/daemon) build on: the XDR codec, framing, keepalive, the procedure table and socket paths.
 * It imports nothing above src/util and src/conf.
 */
export { defaultSocketDir, pkiFiles, RW_SOCKET_NAME, RO_SOCKET_NAME, DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, type PkiFiles } from './paths';
export { DEFAULT_KEEPALIVE, KeepaliveMonitor, type KeepaliveOptions } from './rpc/keepalive';
