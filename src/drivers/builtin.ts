/**
 * The built-in drivers: one registration line each. Order is probe order among drivers that
 * name URI schemes; catch-all drivers (remote) are probed last whatever their position. Each is
 * loaded on its first open (lazy-driver.ts), so start-up pays only for the driver it uses.
 */
import { lazyDriver } from './lazy-driver';
import { registerDriver } from './registry';

registerDriver(lazyDriver({ name: 'test', uriSchemes: ['test'], localOnly: true }, async () => (await import('./test')).testConnectionDriver));
registerDriver(lazyDriver({ name: 'qemu', uriSchemes: ['qemu'], localOnly: true }, async () => (await import('./qemu')).qemuConnectionDriver));
registerDriver(lazyDriver({ name: 'remote', remoteOnly: true }, async () => (await import('./remote/connection')).remoteConnectionDriver));
