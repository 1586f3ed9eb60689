/**
 * Transient failures (canRetry) are retried with exponential backoff, a bounded number of times;
 * past that the batch fails uncommitted and the worker is restarted by its supervisor, so nothing
 * is lost and nothing transient lands in a DLQ.
 */
import { AlphaError, isRetryable } from "../errors.ts";
import type { Logger } from "../logger.ts";

export interface RetryPolicy {
  stage: string;
  /** Tries before giving up (default 5: 100, 200, 400, 800 ms between them). */
  attempts?: number;
  backoffMs?: number;
  logger: Logger;
  /** Throws when the work must stop (the processor is fenced); asked before every try. */
  checkFence: () => void;
}

/**
 * Runs `fn`, retrying transient failures with backoff. `failed`: its first try already failed so
 * (the caller tried inline, without a promise).
 *
 * @example
 * await withRetry(policy, "produce", () => producer.send(out));
 */
export async function withRetry<T>(policy: RetryPolicy, what: string, fn: () => Promise<T> | T, failed?: { err: unknown }): Promise<T> {
  const attempts = policy.attempts ?? 5;
  let delay = policy.backoffMs ?? 100;
  let err: unknown;
  if (failed) err = failed.err;
  else {
    policy.checkFence();
    try {
      return await fn();
    } catch (e) {
      err = e;
    }
  }
  for (let i = 1; ; i++) {
    if (!isRetryable(err)) throw err;
    if (i >= attempts) {
      throw new AlphaError("INTERNAL", `${policy.stage}: ${what} still failing after ${attempts} attempts: ${(err as Error).message}`, {
        canRetry: true,
        cause: err,
      });
    }
    policy.logger.warn({ what, attempt: i, retry_in_ms: delay, err: (err as Error).message }, "transient failure; retrying");
    await Bun.sleep(delay);
    delay *= 2;
    policy.checkFence();
    try {
      return await fn();
    } catch (e) {
      err = e;
    }
  }
}
