/**
 * The ticker's errors: one class, a `reason` saying what happened, and the system-wide code and
 * retryability from one table. errors.ts has no Kite codes yet, so the nearest existing codes
 * stand in; the names we would rather have (the ones src/kite/rest/errors.ts proposes) are in
 * the comments, one line each to change.
 */
import { AlphaError, type ErrorCode } from "../../errors.ts";

const REASONS = {
  /** The handshake was refused with 401/403: the access token (or api key) is bad or expired. */
  token_rejected: { code: "LOG_FORBIDDEN", canRetry: false }, // would be KITE_SESSION_EXPIRED
  /** Could not connect, or the connection dropped. */
  unavailable: { code: "LOG_UNAVAILABLE", canRetry: true }, // would be KITE_UNAVAILABLE
  /** Connected, but no frame (not even a heartbeat) arrived in time. */
  stale: { code: "TIMEOUT", canRetry: true },
  /** Reconnecting stopped: attempts exhausted. */
  gave_up: { code: "LOG_UNAVAILABLE", canRetry: false }, // would be KITE_UNAVAILABLE
  /** Kite sent a text message of type "error". */
  server_error: { code: "PAYLOAD_INVALID", canRetry: false }, // would be KITE_REJECTED (as src/kite/rest proposes)
  /** A frame or text message that could not be read. */
  bad_message: { code: "PAYLOAD_INVALID", canRetry: false },
  /** A request the ticker refuses before sending: over the instrument limit, a bad token or mode. */
  bad_request: { code: "PAYLOAD_INVALID", canRetry: false },
  /** One of our own callbacks threw. */
  handler: { code: "INTERNAL", canRetry: false },
} as const satisfies Record<string, { code: ErrorCode; canRetry: boolean }>;

export type KiteTickerErrorReason = keyof typeof REASONS;

/**
 * @example
 * ticker.onError = (err) => { if (err.reason === "token_rejected") alertOps("log in to Kite again"); };
 */
export class KiteTickerError extends AlphaError {
  readonly reason: KiteTickerErrorReason;
  constructor(reason: KiteTickerErrorReason, message: string, opts: { cause?: unknown; details?: unknown } = {}) {
    super(REASONS[reason].code, message, { ...opts, canRetry: REASONS[reason].canRetry });
    this.name = "KiteTickerError";
    this.reason = reason;
  }
}
