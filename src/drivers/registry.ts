/**
 * Driver registration. Built-in drivers and third-party ones register the same way: one
 * `registerDriver(...)` call adds a ConnectionDriver, and the open loop asks for all of them.
 * Nothing outside a driver's folder names a driver.
 *
 * A plain ordered list: the registry was an inversify container, whose loading (with
 * reflect-metadata) was over half of tsvirsh's start-up time while it only ever held this list.
 */
import type { ConnectionDriver } from './connection-driver';

const drivers: ConnectionDriver[] = [];

/**
 * Registers a connection driver. This is the one line a driver (built-in or third-party) needs.
 * Registering the same name twice is refused, so a package loaded twice cannot shadow itself.
 */
export function registerDriver(driver: ConnectionDriver): void {
  if (drivers.some((d) => d.name === driver.name)) {
    throw new Error(`a connection driver named '${driver.name}' is already registered`);
  }
  drivers.push(driver);
}

/**
 * The registered drivers in probe order: drivers with URI schemes first, in registration order,
 * then the catch-all (remote) drivers, as libvirt probes the remote driver last.
 */
export function registeredDrivers(): ConnectionDriver[] {
  return [...drivers.filter((d) => d.uriSchemes !== undefined), ...drivers.filter((d) => d.uriSchemes === undefined)];
}

/** Removes a driver by name (tests and plug-in unloading). */
export function unregisterDriver(name: string): void {
  const i = drivers.findIndex((d) => d.name === name);
  if (i >= 0) drivers.splice(i, 1);
}
