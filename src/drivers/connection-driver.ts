/**
 * Connection drivers: what the open loop asks, in libvirt's virConnectDriver shape.
 */
import type { VirUri } from '../util/uri';
import type { HypervisorDriver } from './driver-table';

/** Options for opening a connection. */
export interface OpenOptions {
  /** VIR_CONNECT_RO: the connection may not change anything. */
  readonly readOnly: boolean;
}

/** What `open` answers: the connection's driver table, or a decline so the next driver is tried. */
export type OpenResult = { status: 'success'; driver: HypervisorDriver } | { status: 'declined' };

/**
 * A connection driver as registered in the container. `open` throws a VirError for a URI it
 * owns but cannot serve; it declines URIs that are not its own.
 */
export interface ConnectionDriver {
  /** Short unique name ("test", "qemu", "remote"), used in logs only. */
  readonly name: string;
  /**
   * URI schemes (`driver` part) this driver accepts. Undefined: any scheme, as the remote
   * driver does; such drivers are probed last.
   */
  readonly uriSchemes?: readonly string[];
  /** Declines URIs that name a host or a transport (the remote driver serves those). */
  readonly localOnly?: boolean;
  /** Declines URIs that name no host and no transport. */
  readonly remoteOnly?: boolean;
  /**
   * Opens a connection. `uri` is undefined when the caller gave none and no default is set:
   * a driver may then claim the connection (libvirt probes drivers this way).
   */
  open(uri: VirUri | undefined, options: OpenOptions): Promise<OpenResult>;
}
