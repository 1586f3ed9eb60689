/**
 * How a request to Kite is tried again. A read (or a modify, which sets the same values again)
 * is retried on any transient failure. A request Kite may act on only once (a placement) whose
 * answer was lost is retried only after `reconcile` finds nothing done; without one it fails as
 * "ambiguous" instead of risking a second order. Every attempt takes a rate-limit slot. The
 * decisions come from the outcome's `transient` and `applied` flags (http.ts), never from messages.
 */
import type { z } from "zod";
import { KiteError } from "./errors.ts";
import { send, type FetchLike, type KiteRequest, type Outcome } from "./http.ts";
import type { Clock, RateLimiter } from "./limiter.ts";
import { describeIssues } from "./schemas.ts";

type Failed = Extract<Outcome, { ok: false }>;

/** One request, with what it takes to retry it safely. */
export interface KiteCall<T> extends KiteRequest {
  limiter: RateLimiter;
  parse: z.ZodType<{ data: T }>;
  /** Kite may act on a lost request: retry only after `reconcile` finds nothing done. */
  once?: boolean;
  /** After an answer was lost: the result, if the first try took effect after all. */
  reconcile?: () => Promise<T | undefined>;
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** The first backoff; it doubles each retry, up to `maxBackoffMs` (or Kite's Retry-After, if longer). */
  backoffMs: number;
  maxBackoffMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

export interface KiteTransport {
  fetch: FetchLike;
  baseUrl: string;
  clock: Clock;
  /** "token api_key:access_token", read at each attempt. */
  authorization: () => string;
}

/** Kite's `{ data }` envelope checked against its schema; a mismatch is a bad_response. */
export function parsed<T>(schema: z.ZodType<{ data: T }>, data: unknown, request: string): T {
  const result = schema.safeParse(data);
  if (!result.success) throw new KiteError("bad_response", `Kite's answer to ${request} is not what its docs describe: ${describeIssues(result.error)}`, { request });
  return result.data.data;
}

const backoff = (policy: RetryPolicy, retry: number, hint: number | undefined): number =>
  Math.min(Math.max(policy.backoffMs * 2 ** (retry - 1), hint ?? 0), policy.maxBackoffMs);

/**
 * Sends `call`, retrying as its kind allows; resolves with the parsed answer or throws the
 * KiteError that ended it (with `attempts` in its details after more than one).
 *
 * @example
 * await callWithRetries({ method: "GET", path: "/orders", limiter, parse }, policy, transport);
 */
export async function callWithRetries<T>(call: KiteCall<T>, policy: RetryPolicy, transport: KiteTransport): Promise<T> {
  const request = `${call.method} ${call.path.split("?")[0]}`;
  const attempts = policy.retries + 1;
  let last: Failed | undefined;
  let lost = false; // some attempt may have taken effect without us hearing so
  for (let n = 1; n <= attempts; n++) {
    if (last) await transport.clock.sleep(backoff(policy, n - 1, last.retryAfterMs));
    if (lost && call.reconcile) {
      const done = await reconciled(call, request);
      if (done !== undefined) return done;
    }
    await call.limiter.acquire();
    const out = await send(transport.fetch, transport.baseUrl, { ...call, authorization: transport.authorization() }, policy.timeoutMs);
    if (out.ok) {
      try {
        return parsed(call.parse, out.data, request);
      } catch (err) {
        // A placement Kite answered with 200 happened, whatever the body says.
        if (call.once) throw ambiguous(request, { ok: false, error: err as KiteError, transient: false, applied: "maybe" }, n);
        throw err;
      }
    }
    if (out.applied === "maybe") lost = true;
    if (!out.transient) {
      // A refusal after a lost attempt may only mean the lost one worked (a second cancel).
      if (lost && call.reconcile && out.error.kind !== "token") {
        const done = await reconciled(call, request);
        if (done !== undefined) return done;
      }
      if (call.once && out.applied === "maybe") throw ambiguous(request, out, n);
      throw withAttempts(out.error, n);
    }
    if (call.once && out.applied === "maybe" && !call.reconcile) throw ambiguous(request, out, n);
    last = out;
  }
  if (call.once && lost) throw ambiguous(request, last!, attempts);
  const error = last!.error;
  throw new KiteError("network", `${error.message}; gave up after ${attempts} attempts`, { ...error.details, attempts }, error);
}

async function reconciled<T>(call: KiteCall<T>, request: string): Promise<T | undefined> {
  try {
    return await call.reconcile!();
  } catch (err) {
    if (err instanceof KiteError && err.kind === "token") throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new KiteError("ambiguous", `${request}: an earlier attempt may have taken effect, and checking failed (${why}); look at the Kite order book before trying again`, { request }, err);
  }
}

function ambiguous(request: string, out: Failed, attempts: number): KiteError {
  return new KiteError(
    "ambiguous",
    `${request} may or may not have been applied by Kite (${out.error.message}); look at the Kite order book before trying again`,
    { ...out.error.details, attempts },
    out.error,
  );
}

function withAttempts(error: KiteError, attempts: number): KiteError {
  return attempts === 1 ? error : new KiteError(error.kind, error.message, { ...error.details, attempts }, error.cause);
}
