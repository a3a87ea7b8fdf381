/**
 * The built-in drivers: one registration line each. Order is probe order among drivers that
 * name URI schemes; catch-all drivers (remote) are probed last whatever their position.
 */
import { registerDriver } from './registry';
import { testConnectionDriver } from './test';
import { qemuConnectionDriver } from './qemu';
import { remoteConnectionDriver } from './remote/connection';

registerDriver(testConnectionDriver);
registerDriver(qemuConnectionDriver);
registerDriver(remoteConnectionDriver);
