/**
 * Request rate limits: a token bucket per API key, or per client IP for a request without a valid
 * key (so guessing keys is limited too), in three budgets: reads (GET, and WebSocket connects),
 * writes (orders, cancels, modifies, square-offs, controls: every other method) and ticks (POST
 * /ticks, an external feed). Past a budget the answer is 429 TOO_MANY_REQUESTS with Retry-After.
 * A budget of 0 per second is off. Buckets live in this process: with several gateways each
 * applies the limit to what it serves.
 */
import type { Server } from "bun";
import type { Context, MiddlewareHandler } from "hono";
import type { RateBudget } from "../../src/config.ts";
import { errorBody } from "../app.ts";
import { bearerKey, type ApiKeys } from "./auth.ts";
import { ApiError } from "./errors.ts";

export interface Budget {
  /** Tokens added per second; 0 = no limit. */
  perSecond: number;
  /** The bucket's size: how many requests may come at once after a quiet spell. */
  burst: number;
}

export type RateLimits = Record<RateBudget, Budget>;

/** A bucket's state: tokens left (fractional) when last looked at. */
export interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Takes one token from `bucket` (undefined: a full one) at `now` (ms). Pure.
 *
 * @example
 * take(undefined, { perSecond: 1, burst: 2 }, 0); // { bucket: { tokens: 1, at: 0 } }
 * take({ tokens: 0, at: 0 }, { perSecond: 2, burst: 2 }, 0); // { bucket: …, retryAfterS: 1 }
 */
export function take(bucket: Bucket | undefined, budget: Budget, now: number): { bucket: Bucket; retryAfterS?: number } {
  const elapsedS = bucket ? Math.max(0, now - bucket.at) / 1000 : 0;
  const tokens = Math.min(budget.burst, (bucket?.tokens ?? budget.burst) + elapsedS * budget.perSecond);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, at: now } };
  // Whole seconds, at least 1: when the next token is there.
  return { bucket: { tokens, at: now }, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / budget.perSecond)) };
}

/** Who a request is charged to: its valid API key, else its client IP. */
export type Identity = `key:${string}` | `ip:${string}`;

/**
 * The buckets of every identity, per budget; at most `maxIdentities` per budget (past that the
 * least recently seen goes: memory stays bounded whatever a client sends).
 *
 * @example
 * const limiter = new RateLimiter(config.rateLimits);
 * limiter.take("key:ap_…", "writes"); // undefined, or { retryAfterS }
 */
export class RateLimiter {
  private readonly buckets = new Map<RateBudget, Map<Identity, Bucket>>();

  constructor(
    readonly limits: RateLimits,
    private readonly maxIdentities = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Whether a budget limits anything. */
  enabled(budget: RateBudget): boolean {
    return this.limits[budget].perSecond > 0;
  }

  /** Charges one request; undefined when it may go, else how long to wait. */
  take(who: Identity, budget: RateBudget): { retryAfterS: number } | undefined {
    if (!this.enabled(budget)) return undefined;
    let buckets = this.buckets.get(budget);
    if (!buckets) this.buckets.set(budget, (buckets = new Map()));
    const taken = take(buckets.get(who), this.limits[budget], this.clock());
    // Re-inserted, so the Map's order is least recently seen first.
    buckets.delete(who);
    if (buckets.size >= this.maxIdentities) buckets.delete(buckets.keys().next().value!);
    buckets.set(who, taken.bucket);
    return taken.retryAfterS === undefined ? undefined : { retryAfterS: taken.retryAfterS };
  }
}

const BUDGET_WORDS: Record<RateBudget, string> = { reads: "read requests", writes: "write requests", ticks: "tick batches (POST /ticks)" };

/** The 429 for a spent budget, naming it and its limit. */
export function tooManyRequests(limits: RateLimits, budget: RateBudget, who: Identity, retryAfterS: number): ApiError {
  const { perSecond, burst } = limits[budget];
  const whose = who.startsWith("key:") ? "this API key" : "this client address (no valid API key)";
  return new ApiError("TOO_MANY_REQUESTS", `too many ${BUDGET_WORDS[budget]} for ${whose}: the limit is ${perSecond} a second, ${burst} at once; retry after ${retryAfterS} s`, {
    details: { budget, per_second: perSecond, burst, retry_after_s: retryAfterS },
    headers: { "Retry-After": String(retryAfterS) },
  });
}

/** The budget a request draws on. */
export function budgetOf(method: string, path: string): RateBudget {
  if (method === "GET" || method === "HEAD") return "reads";
  return method === "POST" && /\/ticks\/?$/.test(path) ? "ticks" : "writes";
}

/** The API key if it is valid, else the client's address. A store that cannot check the key charges the address; the route's own check then answers 503. */
export async function identify(keys: Pick<ApiKeys, "verify">, key: string | undefined, address: string): Promise<Identity> {
  if (key) {
    const scopes = await keys.verify(key).catch(() => undefined);
    if (scopes) return `key:${key}`;
  }
  return `ip:${address}`;
}

/** The client's address as Bun.serve saw it (the connection's peer, never a header a client can forge). */
export const addressOf = (server: Pick<Server<unknown>, "requestIP"> | undefined, req: Request): string => server?.requestIP?.(req)?.address ?? "unknown";

/**
 * Hono middleware charging each request to its budget; put it before the routes' key checks.
 *
 * @example
 * api.use("*", rateLimit(limiter, keys));
 */
export function rateLimit(limiter: RateLimiter, keys: Pick<ApiKeys, "verify">): MiddlewareHandler {
  return async (c: Context, next) => {
    const budget = budgetOf(c.req.method, c.req.path);
    if (!limiter.enabled(budget)) return next();
    const who = await identify(keys, bearerKey(c.req.header("authorization")), addressOf(c.env as Server<unknown> | undefined, c.req.raw));
    const spent = limiter.take(who, budget);
    if (spent) throw tooManyRequests(limiter.limits, budget, who, spent.retryAfterS);
    await next();
  };
}

type Upgrade<S> = (req: Request, server: S) => Promise<Response | undefined>;

/**
 * A WebSocket upgrade that is charged as a read first (the key from the header or ?api_key=).
 *
 * @example
 * const upgrade = limitUpgrades(ws.upgrade, limiter, keys);
 */
export function limitUpgrades<S extends Pick<Server<unknown>, "requestIP">>(upgrade: Upgrade<S>, limiter: RateLimiter, keys: Pick<ApiKeys, "verify">): Upgrade<S> {
  return async (req, server) => {
    if (limiter.enabled("reads")) {
      const key = bearerKey(req.headers.get("authorization")) ?? new URL(req.url).searchParams.get("api_key") ?? undefined;
      const who = await identify(keys, key, addressOf(server, req));
      const spent = limiter.take(who, "reads");
      if (spent) {
        const e = tooManyRequests(limiter.limits, "reads", who, spent.retryAfterS);
        return Response.json(errorBody(e.code, e.message, e.details), { status: e.status, headers: e.headers });
      }
    }
    return upgrade(req, server);
  };
}
