/** The QMP client used by the QEMU driver: connect, execute, events, capability probing. */
export { QmpClient, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, type QmpClientEvents } from './client';
export { QmpCommandError } from './errors';
export { LineFramer, QMP_MAX_MESSAGE_BYTES } from './framing';
export { probeQemuCapabilities, qemuVersionAtLeast, type QemuCapabilities } from './probe';
export type {
  ConnectOptions,
  ExecuteOptions,
  QemuVersion,
  QmpErrorBody,
  QmpEvent,
  QmpGreetingInfo,
  WaitForEventOptions,
} from './types';
