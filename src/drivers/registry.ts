/**
 * Driver registration through an inversify container. Built-in drivers and third-party ones
 * register the same way: one `registerDriver(...)` call binds a ConnectionDriver, and the open
 * loop asks the container for all of them. Nothing outside a driver's folder names a driver.
 */
import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { ConnectionDriver } from './connection-driver';

/** Service identifiers used in the container. */
export const TYPES = {
  ConnectionDriver: Symbol.for('tsvirt.ConnectionDriver'),
} as const;

/** The process-wide container holding every registered connection driver. */
export const driverContainer = new Container();

/** A container module that binds one connection driver (for callers composing their own modules). */
export function driverModule(driver: ConnectionDriver): ContainerModule {
  return new ContainerModule((bind) => {
    bind<ConnectionDriver>(TYPES.ConnectionDriver).toConstantValue(driver);
  });
}

/**
 * Registers a connection driver. This is the one line a driver (built-in or third-party) needs.
 * Registering the same name twice is refused, so a package loaded twice cannot shadow itself.
 */
export function registerDriver(driver: ConnectionDriver): void {
  if (registeredDrivers().some((d) => d.name === driver.name)) {
    throw new Error(`a connection driver named '${driver.name}' is already registered`);
  }
  driverContainer.load(driverModule(driver));
}

/**
 * The registered drivers in probe order: drivers with URI schemes first, in registration order,
 * then the catch-all (remote) drivers, as libvirt probes the remote driver last.
 */
export function registeredDrivers(): ConnectionDriver[] {
  if (!driverContainer.isBound(TYPES.ConnectionDriver)) return [];
  const all = driverContainer.getAll<ConnectionDriver>(TYPES.ConnectionDriver);
  return [...all.filter((d) => d.uriSchemes !== undefined), ...all.filter((d) => d.uriSchemes === undefined)];
}

/** Removes a driver by name (tests and plug-in unloading). */
export function unregisterDriver(name: string): void {
  const keep = registeredDrivers().filter((d) => d.name !== name);
  driverContainer.unbindAll();
  for (const d of keep) driverContainer.load(driverModule(d));
}
