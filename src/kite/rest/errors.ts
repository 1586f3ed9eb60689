/**
 * Every way a Kite Connect call can fail, as one error class with a `kind` and a `canRetry` flag,
 * so the execution stage decides from the error, never from its message. Kite's own message is
 * kept verbatim (a rejected order is rejected with Kite's words).
 *
 * Until src/errors.ts grows Kite codes, this stands on its own; {@link KITE_ERROR_CODES} is the
 * proposed mapping of kinds to AlphaError codes.
 */

/** What went wrong, as far as the caller has to care. */
export type KiteErrorKind =
  /** The session is expired or invalid: a new login is needed. Retrying cannot help. */
  | "token"
  /** Kite or the path to it is unavailable (timeouts, 429, 5xx, NetworkException), retries spent. */
  | "network"
  /** Our own rate limiter's queue is full: too many order requests waiting. Back off. */
  | "throttled"
  /** Kite refused the request (Input/Order/Margin/Holding exception); the message is Kite's. */
  | "rejected"
  /** An order request may or may not have taken effect at Kite: look at the order book first. */
  | "ambiguous"
  /** Kite answered, but not with anything we can read (not JSON, or not the documented shape). */
  | "bad_response"
  /** Anything else Kite reports (GeneralException, DataException, 404/405/410 ...). */
  | "general";

/** Proposed AlphaError codes, one per kind (for src/errors.ts). */
export const KITE_ERROR_CODES = {
  token: "KITE_SESSION_EXPIRED",
  network: "KITE_UNAVAILABLE",
  throttled: "KITE_THROTTLED",
  rejected: "KITE_REJECTED",
  ambiguous: "KITE_OUTCOME_UNKNOWN",
  bad_response: "KITE_BAD_RESPONSE",
  general: "KITE_ERROR",
} as const satisfies Record<KiteErrorKind, string>;

const RETRYABLE: Record<KiteErrorKind, boolean> = {
  token: false,
  network: true,
  throttled: true,
  rejected: false,
  ambiguous: false,
  bad_response: false,
  general: false,
};

/** What the error knows about the request that failed (never the access token). */
export interface KiteErrorDetails {
  /** "POST /orders/regular" */
  request?: string;
  /** The HTTP status, when Kite answered. */
  status?: number;
  /** Kite's `error_type` (TokenException, InputException, ...), when it sent one. */
  errorType?: string;
  /** How many attempts were made. */
  attempts?: number;
}

/**
 * @example
 * throw new KiteError("rejected", "Insufficient funds. Required margin is 95417.84 ...", { errorType: "MarginException", status: 400 });
 */
export class KiteError extends Error {
  readonly kind: KiteErrorKind;
  readonly canRetry: boolean;
  readonly code: (typeof KITE_ERROR_CODES)[KiteErrorKind];
  readonly details: KiteErrorDetails;

  constructor(kind: KiteErrorKind, message: string, details: KiteErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "KiteError";
    this.kind = kind;
    this.canRetry = RETRYABLE[kind];
    this.code = KITE_ERROR_CODES[kind];
    this.details = details;
  }
}

/** The command a person runs to log in again; named in every token error. */
export const RELOGIN_HINT = "a new Kite login is needed: open the Kite login URL, then run `bun run kite:session <request_token>`";
