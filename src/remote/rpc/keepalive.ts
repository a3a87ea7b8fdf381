/**
 * Keepalive as libvirt runs it on both ends: after `intervalMs` without any incoming message a
 * PING is sent, and a peer that stays silent for `count` further intervals is declared dead.
 * Any message counts as a sign of life, so a busy connection never pings.
 */

/** Keepalive timing; libvirt's defaults are 5 s and 5. */
export interface KeepaliveOptions {
  intervalMs: number;
  count: number;
}

/** libvirt's default keepalive settings. */
export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 5000, count: 5 };

/** Watches one connection's incoming traffic and pings or gives up on it. */
export class KeepaliveMonitor {
  private lastRx = Date.now();
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param opts timing
   * @param sendPing sends one PING frame
   * @param onDead called once when the peer missed too many intervals
   */
  constructor(
    private readonly opts: KeepaliveOptions,
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
  ) {}

  /** True once start() ran and stop() did not. */
  get running(): boolean {
    return this.timer !== null;
  }

  /** Records incoming traffic. */
  touch(): void {
    this.lastRx = Date.now();
  }

  /** Starts watching (idempotent). */
  start(): void {
    if (this.timer || this.opts.intervalMs <= 0) return;
    this.lastRx = Date.now();
    // Ticking at a fraction of the interval keeps detection within one interval of the limit.
    const tick = Math.max(10, Math.floor(this.opts.intervalMs / 2));
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  /** Stops watching. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const idle = Date.now() - this.lastRx;
    if (idle >= this.opts.intervalMs * (this.opts.count + 1)) {
      this.stop();
      this.onDead();
      return;
    }
    if (idle >= this.opts.intervalMs) this.sendPing();
  }
}
