/** tsvirtd: libvirt's RPC server side. */
export { Daemon, type DaemonOptions, type DaemonAddresses, type TlsListenOptions } from './server';
export { ClientSession, type SessionOptions } from './session';
export { loadSettings, parseConfig, usage, type DaemonSettings, type ConfigValues } from './config';
export { SERVER_HANDLERS, handlerFor } from './handlers';
