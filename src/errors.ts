/**
 * One error module for the whole system. Every error has a code from {@link ERROR_CODES} and a
 * `canRetry` flag, so retry and DLQ logic decide from the error, never from its message.
 */
export const ERROR_CODES = [
  "CONFIG_INVALID",
  "ENVELOPE_INVALID",
  "PAYLOAD_INVALID",
  "LOG_FULL",
  "LOG_CLOSED",
  "LOG_UNAVAILABLE",
  "LOG_FORBIDDEN",
  "TOPIC_UNKNOWN",
  "STORE_UNAVAILABLE",
  "MIGRATION_FAILED",
  "CACHE_UNAVAILABLE",
  "CACHE_FULL",
  "CACHE_WRONG_TYPE",
  "READ_MODEL_REBUILDING",
  "NOT_FOUND",
  "CONFLICT",
  "TIMEOUT",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Base class of every error we raise on purpose.
 *
 * @example
 * throw new AlphaError("LOG_FULL", "partition market.ticks/0 is full", { canRetry: true });
 */
export class AlphaError extends Error {
  readonly code: ErrorCode;
  readonly canRetry: boolean;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, opts: { canRetry?: boolean; cause?: unknown; details?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "AlphaError";
    this.code = code;
    this.canRetry = opts.canRetry ?? false;
    this.details = opts.details;
  }
}

/** One problem found while validating: where it is, and what is wrong with it. */
export interface Problem {
  path: string;
  message: string;
}

/**
 * Configuration problems, all of them at once, in one message a person can act on.
 *
 * @example
 * throw new ConfigError([{ path: "PORT", message: 'must be a port number, got "notaport"' }]);
 */
export class ConfigError extends AlphaError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(
      "CONFIG_INVALID",
      `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
      { details: problems },
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** True when an error says retrying the same operation may succeed. */
export function isRetryable(err: unknown): boolean {
  return err instanceof AlphaError ? err.canRetry : false;
}

// postgres.js raises connection failures as plain Errors with a `code` (its own names, or the
// socket's errno); the server's own refusals are PostgresErrors with a SQLSTATE.
const STORE_CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  // A statement cancelled (statement_timeout, or an operator's pg_cancel_backend).
  "57014",
]);
// SQLSTATE class 08 (connection exception), 57P01-03 (admin shutdown, crash shutdown, cannot
// connect now), 53300 (too many connections) and 57014 (a statement cancelled).
const STORE_UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]$|53300$|57014$)/;
// ioredis: a command given up after its retries, or sent on a closed connection; a server loading
// its data set or busy with a script; a replica or cluster not ready.
const CACHE_ERROR_NAMES = new Set(["MaxRetriesPerRequestError", "ClusterAllFailedError"]);
const CACHE_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY)\b/;

const fieldOf = (err: unknown, k: string): unknown => (typeof err === "object" && err !== null ? (err as Record<string, unknown>)[k] : undefined);

/**
 * A dependency's failure as the retryable AlphaError it stands for, or undefined when it is not
 * one (a bug, bad data): the one place that knows what PostgreSQL (postgres.js), Redis (ioredis)
 * and Kafka (@platformatic/kafka) errors look like, so the API answers every outage with a 503
 * and Retry-After, never a 500. AlphaErrors pass through as they are when retryable.
 *
 * @example
 * const dep = dependencyError(err); if (dep) throw dep; else throw err;
 */
export function dependencyError(err: unknown): AlphaError | undefined {
  if (err instanceof AlphaError) return err.canRetry ? err : undefined;
  if (typeof err !== "object" || err === null) return undefined;
  const code = fieldOf(err, "code");
  const name = fieldOf(err, "name");
  const message = String(fieldOf(err, "message") ?? "");
  const wrap = (c: ErrorCode, what: string) => new AlphaError(c, `${what}: ${message || String(code)}`, { canRetry: true, cause: err });
  if (name === "PostgresError") {
    return typeof code === "string" && STORE_UNAVAILABLE_SQLSTATE.test(code) ? wrap("STORE_UNAVAILABLE", "database unavailable") : undefined;
  }
  if ((typeof name === "string" && CACHE_ERROR_NAMES.has(name)) || message === "Connection is closed." || (name === "ReplyError" && CACHE_REPLY.test(message))) {
    return wrap("CACHE_UNAVAILABLE", "cache unavailable");
  }
  if (code === "PLT_KFK_MULTIPLE") {
    // The client's retries, each an error of its own: an outage if any of them was one.
    const inner = fieldOf(err, "errors");
    return Array.isArray(inner) && inner.some((e) => dependencyError(e)?.code === "LOG_UNAVAILABLE") ? wrap("LOG_UNAVAILABLE", "log unavailable") : undefined;
  }
  if (typeof code === "string" && code.startsWith("PLT_KFK_")) {
    return code === "PLT_KFK_NETWORK" || code === "PLT_KFK_TIMEOUT" || fieldOf(err, "canRetry") === true
      ? wrap("LOG_UNAVAILABLE", "log unavailable")
      : undefined;
  }
  // A bare socket error: the store's client is the one that lets those through unwrapped (the
  // cache and log adapters wrap theirs).
  if (typeof code === "string" && STORE_CONNECTION_CODES.has(code)) return wrap("STORE_UNAVAILABLE", "database unavailable");
  return undefined;
}

/** True when `err` is a failure of the store's connection (not a refusal of the statement). */
export function isStoreUnavailable(err: unknown): boolean {
  return dependencyError(err)?.code === "STORE_UNAVAILABLE";
}

/**
 * `work`, or a retryable `code` error once `ms` pass without an answer; `cancel` is called then,
 * to withdraw the work where that is safe (never a postgres.js query: docs/notes.md). The caller answers at once and the
 * work may still finish in the background: use this only where a late effect is harmless, or is
 * dealt with (see gateway/outbox.ts for the one place where it is not harmless: placing an order).
 *
 * @example
 * await bounded(store.ping(), 1_500, "STORE_UNAVAILABLE", "check the database");
 */
export function bounded<T>(work: Promise<T>, ms: number, code: ErrorCode, doing: string, cancel?: () => void): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        cancel?.();
      } catch {
        // Withdrawing is best effort: the timeout error is the answer either way.
      }
      reject(new AlphaError(code, `${doing}: no answer within ${ms} ms`, { canRetry: true }));
    }, ms);
  });
  work.catch(() => {}); // a rejection after the timeout is nobody's to handle
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `promise`'s value, or undefined once `ms` pass first (the timer is cleared either way). A
 * rejection before then is passed on.
 *
 * @example
 * const quote = await within(cache.get(key), 50); // undefined after 50 ms
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: Timer | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
