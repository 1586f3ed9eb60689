/** How long to wait before reconnect attempt n: exponential, capped, optionally jittered. */

export interface Backoff {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /**
   * "Equal jitter": a delay uniformly in [d/2, d]. Spreads many clients that lost the same
   * server, yet never waits less than half, so a flapping server is not hammered.
   */
  jitter: boolean;
}

/**
 * @example
 * backoffDelay(1, { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: false }); // 500
 * backoffDelay(4, { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: false }); // 4000
 */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const raw = b.initialDelayMs * b.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(b.maxDelayMs, raw);
  return Math.round(b.jitter ? capped / 2 + (random() * capped) / 2 : capped);
}
