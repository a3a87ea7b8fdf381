/**
 * What a procedure handler sees of the client that called it: the client's public Connect (the
 * daemon dispatches through src/public, so every check runs as it does in-process), a way to
 * turn wire domains into Domain handles, and the few per-client facts the protocol asks about.
 */
import type { Connect } from '../public/connect';
import type { Domain } from '../public/domain';
import type { DomainRef } from '../drivers/types';
import type { SessionAuth } from './auth/session-auth';

/** The per-call view of a client session. */
export interface CallContext {
  /** The client's connection; throws "connection not open" before CONNECT_OPEN. */
  conn(): Connect;
  /** A handle for a domain received on the wire (no lookup). */
  dom(ref: DomainRef): Domain;
  /** Opens the client's connection (CONNECT_OPEN). */
  open(name: string | null, flags: number): Promise<void>;
  /** Closes the client's connection (CONNECT_CLOSE). */
  close(): Promise<void>;
  /** True for transports libvirt calls secure (UNIX, TLS, stdio); false for plain TCP. */
  isSecure(): boolean;
  /** The client's authentication state (AUTH_* procedures). */
  auth(): SessionAuth;
  /** Starts daemon-side keepalive (the client said it speaks it). */
  startKeepalive(): void;
  /**
   * Registers an event callback for `eventId` (of `filter` only, when given); returns the id sent
   * back in each event message.
   */
  registerEvent(eventId: number, filter: DomainRef | null): Promise<number>;
  /** Removes a callback registered by registerEvent. */
  deregisterEvent(callbackID: number): Promise<void>;
}
