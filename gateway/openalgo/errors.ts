/**
 * OpenAlgo's error answer: `{"status":"error","message":"…"}` with its status codes: 400 for a bad
 * request (a field missing or invalid, an unknown symbol), 403 for a bad API key, 404 for an
 * unknown order, 429 past the rate limit, 500 for a fault. A dependency down is 503 with Retry-After (OpenAlgo would say 500;
 * 503 tells a client the same call may work shortly).
 */
import { toApiError } from "../api/errors.ts";

export type OaStatus = 400 | 403 | 404 | 413 | 415 | 429 | 500 | 503;

/**
 * @example
 * throw new OaError(400, "symbol: unknown symbol FOO on NSE");
 */
export class OaError extends Error {
  constructor(
    readonly status: OaStatus,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "OaError";
  }
}

/** The body of an error answer. */
export const oaErrorBody = (message: string) => ({ status: "error" as const, message });

/** The message OpenAlgo answers a wrong key with, word for word (clients match on it). */
export const INVALID_APIKEY = "Invalid openalgo apikey";

/**
 * The OaError a thrown value stands for: ours as is, the services' AlphaErrors and the API's
 * ApiErrors by their meaning; undefined for a bug (→ 500, logged).
 *
 * @example
 * const e = toOaError(err) ?? new OaError(500, "An unexpected error occurred");
 */
export function toOaError(err: unknown): OaError | undefined {
  if (err instanceof OaError) return err;
  const api = toApiError(err);
  if (!api) return undefined;
  if (api.status === 503) return new OaError(503, api.message, api.headers);
  if (api.status === 404) return new OaError(404, api.message);
  if (api.status === 401 || api.status === 403) return new OaError(403, api.message);
  if (api.status === 413 || api.status === 415) return new OaError(api.status, api.message);
  // 409 (a finished order) and 422 (a well-formed request naming something invalid) are OpenAlgo's 400.
  return new OaError(api.status >= 500 ? 500 : 400, api.message);
}
