/** The remote driver: libvirt's RPC client side. */
export { remoteConnectionDriver, openRemote, remoteHandshake, clientKeepalive } from './connection';
export { RemoteHypervisor } from './remote-hypervisor';
export { RpcClient, type MessageListener } from './rpc-client';
export { openTransport, nameForDaemon, REMOTE_URI_PARAMS } from './transport';
