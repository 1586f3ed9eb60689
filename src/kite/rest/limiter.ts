/**
 * A client-side rate limiter over sliding windows (10 per second AND 200 per minute for orders),
 * so Kite never has to answer 429. Requests wait their turn in a bounded FIFO queue; past the
 * bound `acquire` rejects with a "throttled" KiteError instead of queueing forever.
 */
import { KiteError } from "./errors.ts";

/** Time, injectable so tests can drive the limiter and the backoff without waiting. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => Bun.sleep(ms),
};

/** At most `limit` acquisitions in any `ms` milliseconds. */
export interface Window {
  limit: number;
  ms: number;
}

export interface LimiterOptions {
  /** Callers allowed to wait at once; one more is refused (default 100). */
  maxQueue?: number;
  /** Added to every window (default 0): Kite counts on arrival, and arrivals jitter. */
  marginMs?: number;
  clock?: Clock;
  /** Names the limiter in errors: "order requests". */
  name?: string;
}

/**
 * @example
 * const orders = new RateLimiter([{ limit: 10, ms: 1000 }, { limit: 200, ms: 60_000 }]);
 * await orders.acquire(); // then send the request
 */
export class RateLimiter {
  private readonly windows: Window[];
  private readonly span: number;
  private readonly maxQueue: number;
  private readonly clock: Clock;
  private readonly name: string;
  /** When each recent request was let through, oldest first. */
  private readonly stamps: number[] = [];
  private readonly waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private pumping = false;
  private closed: Error | undefined;

  constructor(windows: Window[], opts: LimiterOptions = {}) {
    const margin = opts.marginMs ?? 0;
    this.windows = windows.map((w) => ({ limit: w.limit, ms: w.ms + margin }));
    this.span = Math.max(0, ...this.windows.map((w) => w.ms));
    this.maxQueue = opts.maxQueue ?? 100;
    this.clock = opts.clock ?? systemClock;
    this.name = opts.name ?? "requests";
  }

  /** Callers waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves when a request may be sent (and counts it as sent). */
  acquire(): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.waiting.length >= this.maxQueue) {
      const limits = this.windows.map((w) => `${w.limit} per ${w.ms} ms`).join(" and ");
      return Promise.reject(
        new KiteError("throttled", `rate limit: ${this.waiting.length} ${this.name} already waiting (the bound); Kite allows ${limits}. Slow down and try again`),
      );
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      void this.pump();
    });
  }

  /** Refuses every waiting and future caller: for shutdown, so nothing hangs. */
  close(reason = "the Kite client was closed"): void {
    this.closed = new KiteError("general", `${this.name} not sent: ${reason}`);
    for (const w of this.waiting.splice(0)) w.reject(this.closed);
  }

  /** How long until one more request fits in every window (0: now). */
  private delay(now: number): number {
    while (this.stamps.length > 0 && this.stamps[0]! <= now - this.span) this.stamps.shift();
    let wait = 0;
    for (const w of this.windows) {
      if (this.stamps.length < w.limit) continue;
      // The limit-th most recent request leaves this window at its time + window length.
      const leaves = this.stamps[this.stamps.length - w.limit]! + w.ms;
      wait = Math.max(wait, leaves - now);
    }
    return wait;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting.length > 0) {
        const wait = this.delay(this.clock.now());
        if (wait > 0) {
          await this.clock.sleep(wait);
          continue;
        }
        this.stamps.push(this.clock.now());
        this.waiting.shift()!.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }
}
