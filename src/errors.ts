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
