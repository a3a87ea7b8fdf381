/**
 * A connection driver whose code is loaded on its first open. Registration needs only what the
 * open loop reads before calling `open` (name, schemes, local/remote), so a process that opens
 * test:///default never loads the QEMU driver or the RPC stack, and tsvirsh starts quickly.
 */
import type { ConnectionDriver } from './connection-driver';

/** What the open loop needs to know about a driver before its code is loaded. */
export type DriverDescription = Pick<ConnectionDriver, 'name' | 'uriSchemes' | 'localOnly' | 'remoteOnly'>;

/**
 * A ConnectionDriver described by `desc` that loads the real one with `load` when a connection
 * is first opened. The loaded driver must describe itself the same way: a mismatch would mean
 * the registration line lies about the driver, so it fails loudly.
 */
export function lazyDriver(desc: DriverDescription, load: () => Promise<ConnectionDriver>): ConnectionDriver {
  let loaded: Promise<ConnectionDriver> | undefined;
  const real = async (): Promise<ConnectionDriver> => {
    loaded ??= load().then((d) => {
      const same = d.name === desc.name && String(d.uriSchemes) === String(desc.uriSchemes) && !!d.localOnly === !!desc.localOnly && !!d.remoteOnly === !!desc.remoteOnly;
      if (!same) throw new Error(`driver '${d.name}' does not match its lazy registration '${desc.name}'`);
      return d;
    });
    return loaded;
  };
  return {
    ...desc,
    async open(uri, options) {
      return (await real()).open(uri, options);
    },
  };
}
