/**
 * The API's errors and their HTTP status. Every error leaves as one JSON shape,
 * {"error":{"code","message","details"}} (errorBody of gateway/app.ts). AlphaErrors from the
 * services map by code: PAYLOAD_INVALID → 422 VALIDATION_FAILED, NOT_FOUND → 404, CONFLICT → 409,
 * anything with canRetry (a dependency down or full) or LOG_CLOSED → 503 with Retry-After and the
 * dependency's own code (LOG_FULL, STORE_UNAVAILABLE, …). A dependency's raw error (a postgres.js
 * connection error, an ioredis or Kafka client error) is recognised by `dependencyError`
 * (src/errors.ts) and answered the same way. Anything else is a bug: 500.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AlphaError, dependencyError, type ErrorCode, type Problem } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { errorBody } from "../app.ts";

/** Codes the API answers with, besides the AlphaError codes it passes on. */
export const API_ERROR_CODES = {
  BAD_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  UPGRADE_REQUIRED: 426,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/**
 * An error with its HTTP status, thrown by routes and middleware and rendered by {@link renderError}.
 *
 * @example
 * throw new ApiError("NOT_FOUND", `no order "${id}"`);
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode | ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    code: ApiErrorCode | ErrorCode,
    message: string,
    opts: { status?: ContentfulStatusCode; details?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = opts.status ?? (code in API_ERROR_CODES ? API_ERROR_CODES[code as ApiErrorCode] : 500);
    this.details = opts.details ?? null;
    this.headers = opts.headers ?? {};
  }
}

/**
 * 422 naming every bad field, in the message and in details.
 *
 * @example
 * throw invalid([{ path: "price", message: "price: must be on the tick grid of 0.05" }]);
 */
export function invalid(problems: Problem[], what = "request"): ApiError {
  const list = problems.map((p) => p.message).join("; ");
  return new ApiError("VALIDATION_FAILED", `invalid ${what}: ${list}`, { details: problems });
}

/** Seconds a client should wait before retrying after a dependency error. */
function retryAfter(err: AlphaError): number {
  return err.code === "LOG_FULL" || err.code === "CACHE_FULL" ? 1 : 5;
}

const isProblems = (x: unknown): x is Problem[] =>
  Array.isArray(x) && x.every((p) => typeof p === "object" && p !== null && typeof p.path === "string" && typeof p.message === "string");

/** The ApiError a thrown value stands for; undefined when it is a bug (→ 500). */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = (Object.keys(API_ERROR_CODES) as ApiErrorCode[]).find((k) => API_ERROR_CODES[k] === err.status);
    return code ? new ApiError(code, err.message) : undefined;
  }
  if (!(err instanceof AlphaError)) {
    const dep = dependencyError(err);
    return dep && new ApiError(dep.code, dep.message, { status: 503, headers: { "Retry-After": String(retryAfter(dep)) } });
  }
  // NOT_FOUND and CONFLICT are not in src/errors.ts's list yet; compare as strings.
  const code: string = err.code;
  if (code === "PAYLOAD_INVALID") {
    return new ApiError("VALIDATION_FAILED", err.message, { details: isProblems(err.details) ? err.details : null });
  }
  if (code === "NOT_FOUND") return new ApiError("NOT_FOUND", err.message);
  if (code === "CONFLICT") return new ApiError("CONFLICT", err.message);
  if (err.canRetry || code === "LOG_CLOSED") {
    // The dependency's own code (LOG_FULL, STORE_UNAVAILABLE, …) tells the client what is down.
    return new ApiError(err.code, err.message, { status: 503, headers: { "Retry-After": String(retryAfter(err)) } });
  }
  return undefined;
}

/**
 * The response for any thrown value. A bug is logged and answered with a 500 that says where to
 * look, never with its message (which may hold internals).
 *
 * @example
 * api.onError((err, c) => renderError(c, err, logger));
 */
export function renderError(c: Context, err: unknown, logger: Logger): Response {
  const e = toApiError(err);
  if (!e) {
    logger.error({ err, method: c.req.method, path: c.req.path }, "unhandled error in API route");
    return c.json(errorBody("INTERNAL", "internal error; the gateway log has the details"), 500);
  }
  if (e.status >= 500) logger.warn({ code: e.code, message: e.message, path: c.req.path }, "API dependency unavailable");
  return c.json(errorBody(e.code, e.message, e.details), e.status, e.headers);
}
