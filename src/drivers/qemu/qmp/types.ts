/**
 * Shapes of the QEMU Machine Protocol messages the client reads and writes (see QEMU's
 * docs/interop/qmp-spec). Only the fields tsvirt relies on are typed; the rest stays `unknown`.
 */

/** QEMU's version triple, as the greeting and `query-version` report it. */
export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
}

/** What the greeting told us about the QEMU on the other end. */
export interface QmpGreetingInfo {
  version: QemuVersion;
  /** Distribution build string, e.g. "Debian 1:7.2+dfsg-7"; empty when QEMU sent none. */
  package: string;
  /** Optional protocol capabilities QEMU offers (e.g. "oob"); tsvirt enables none of them. */
  capabilities: string[];
}

/** The error object of a failed command: `{"error": {"class", "desc"}}`. */
export interface QmpErrorBody {
  class?: string;
  desc?: string;
  [key: string]: unknown;
}

/** An asynchronous event such as STOP, RESUME, SHUTDOWN or MIGRATION. */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** Per-call options of {@link QmpClient.execute}. */
export interface ExecuteOptions {
  /** Milliseconds to wait for the reply; 0 waits for ever. Defaults to the client's own default. */
  timeoutMs?: number;
}

/** Options of {@link QmpClient.connect}. */
export interface ConnectOptions {
  /** Budget for the whole handshake: socket connect (with retries), greeting and qmp_capabilities. */
  timeoutMs?: number;
  /**
   * Keep retrying while the socket does not exist yet or refuses connections, until `timeoutMs`
   * runs out. Needed right after spawning QEMU, which creates its socket a little later.
   */
  retry?: boolean;
  /** Default reply timeout of later `execute` calls (ms, 0 = none). */
  commandTimeoutMs?: number;
  /** Name used in log lines and some error messages, usually the domain name. */
  name?: string;
  /**
   * Stops the retries and the handshake: a connect left retrying after its QEMU died would
   * otherwise take the monitor of the next QEMU that creates a socket at the same path.
   */
  signal?: AbortSignal;
}

/** Options of {@link QmpClient.waitForEvent}. */
export interface WaitForEventOptions {
  /** Milliseconds to wait; 0 or undefined waits until the event, the monitor closing or an abort. */
  timeoutMs?: number;
  /** Aborting it rejects the wait with OPERATION_ABORTED and removes its listener. */
  signal?: AbortSignal;
}

/** Narrows `value` to a plain JSON object. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
