/**
 * OpenAlgo's REST API on our gateway: `POST /api/v1/<name>` with the API key in the JSON body as
 * `apikey` (any of our keys; `trade` scope for what acts), answered in OpenAlgo's shapes. A route
 * is data, as ours are (gateway/api/route.ts): its name, scope, body schema and handler; the
 * handler returns the success body (`{"status":"success", …}`, 200) or throws.
 *
 * The key is checked before the body (a caller without a key learns nothing about fields), then
 * the body, then the key's analyzer mode picks the broker: analyze (the default) is paper, live
 * is zerodha.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { Broker } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { allows, hashKey, type ApiKeys, type Scope } from "../api/auth.ts";
import { addressOf, identify, tooManyRequests, type RateLimiter } from "../api/rate-limit.ts";
import { problemsOf, readJson } from "../api/validate.ts";
import { INVALID_APIKEY, OaError, oaErrorBody, toOaError } from "./errors.ts";

/** The key a call came with: its hash (what the store knows it by) and scopes. */
export interface OaKey {
  hash: string;
  scopes: Scope[];
}

export interface OaRequest<B> {
  c: Context;
  body: B;
  key: OaKey;
  /** The broker this key's calls trade now: paper (analyze) or zerodha (live). */
  broker: Broker;
}

export interface OaRouteSpec<S extends z.ZodType> {
  /** The path below /api/v1, as OpenAlgo names it: "placeorder", "analyzer/toggle". */
  name: string;
  summary: string;
  /** `trade` for what acts, `read` for books and data. */
  scope: Scope;
  /** The body's fields besides `apikey` (checked first); unknown fields are ignored, as OpenAlgo does. */
  body: S;
  /** False for a route that works whatever the key's mode trades (the mode switch itself): `broker` is then the mode's, active or not. */
  needsActiveBroker?: boolean;
  /** The success body; OpenAlgo answers it with 200. */
  handle(req: OaRequest<z.output<S>>): Promise<Record<string, unknown>>;
}

export type OaRoute = OaRouteSpec<z.ZodType>;

/**
 * @example
 * oaRoute({ name: "ping", summary: "…", scope: "read", body: z.object({}),
 *   handle: async ({ broker }) => ({ status: "success", data: { broker, message: "pong" } }) });
 */
export const oaRoute = <S extends z.ZodType>(spec: OaRouteSpec<S>): OaRoute => spec as unknown as OaRoute;

/** Which broker a key's calls trade, and the switch: backed by api_keys.openalgo_live (migration 0016). */
export interface KeyModes {
  /** True: live; false: analyze; undefined: no such key (revoked since it was verified). */
  live(hash: string): Promise<boolean | undefined>;
  setLive(hash: string, live: boolean): Promise<boolean>;
}

export interface OpenAlgoMountDeps {
  routes: readonly OaRoute[];
  keys: ApiKeys;
  modes: KeyModes;
  activeBrokers: readonly Broker[];
  logger: Logger;
  maxBodyBytes: number;
  /** The API's request budgets: a call is charged to its key (its address without a valid one), reads or writes by its scope. */
  limiter?: RateLimiter;
}

/** The broker a mode trades: analyze is paper, live is zerodha. */
export const brokerOfMode = (live: boolean): Broker => (live ? "zerodha" : "paper");

const apikeyField = z.object({ apikey: z.string().min(1).max(256) });

/** A 400 naming every bad field, in one message. */
function parsed<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  throw new OaError(400, problemsOf(r.error.issues).map((p) => p.message).join("; "));
}

/** Charges the call to its key (or address) before anything else is looked at; a 429 in OpenAlgo's shape when spent. */
async function charge(c: Context, r: OaRoute, body: object, deps: OpenAlgoMountDeps): Promise<void> {
  const limiter = deps.limiter;
  const budget = r.scope === "read" ? "reads" : "writes";
  if (!limiter?.enabled(budget)) return;
  const apikey = (body as { apikey?: unknown }).apikey;
  const who = await identify(deps.keys, typeof apikey === "string" ? apikey : undefined, addressOf(c.env as Parameters<typeof addressOf>[0], c.req.raw));
  const spent = limiter.take(who, budget);
  if (spent) {
    const e = tooManyRequests(limiter.limits, budget, who, spent.retryAfterS);
    throw new OaError(429, e.message, e.headers);
  }
}

async function keyOf(body: unknown, keys: ApiKeys): Promise<OaKey> {
  const apikey = parsed(apikeyField, body).apikey;
  const scopes = await keys.verify(apikey);
  if (!scopes) throw new OaError(403, INVALID_APIKEY);
  return { hash: hashKey(apikey), scopes };
}

async function brokerOf(key: OaKey, deps: OpenAlgoMountDeps, mustBeActive: boolean): Promise<Broker> {
  const live = await deps.modes.live(key.hash);
  if (live === undefined) throw new OaError(403, INVALID_APIKEY);
  const broker = brokerOfMode(live);
  if (mustBeActive && !deps.activeBrokers.includes(broker)) {
    const mode = live ? "live" : "analyze";
    throw new OaError(400, `this key is in ${mode} mode, which trades ${broker}, and this gateway does not run ${broker} (ACTIVE_BROKERS=${deps.activeBrokers.join(",")}); switch the mode with analyzer/toggle`);
  }
  return broker;
}

/**
 * Registers every route on `api` (the Hono app mounted at /api/v1), before its 404 fallback.
 *
 * @example
 * mountOpenAlgo(api, { routes: openAlgoRoutes(deps), keys, modes, activeBrokers, logger, maxBodyBytes });
 */
export function mountOpenAlgo(api: Hono, deps: OpenAlgoMountDeps): void {
  const tooLarge = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: (c) => c.json(oaErrorBody(`the body is larger than ${deps.maxBodyBytes} bytes`), 413),
  });
  for (const r of deps.routes) {
    const handle: MiddlewareHandler = async (c) => {
      // Known once the key is: OpenAlgo's sandbox marks its errors too with "mode": "analyze".
      let broker: Broker | undefined;
      try {
        const json = await readJson(c);
        if (typeof json !== "object" || json === null || Array.isArray(json)) throw new OaError(400, "the body must be a JSON object");
        await charge(c, r, json, deps);
        const key = await keyOf(json, deps.keys);
        if (!allows(key.scopes, r.scope)) throw new OaError(403, `${r.name} needs an API key with the ${r.scope} scope; this key has ${key.scopes.join(", ")}`);
        const body = parsed(r.body, json);
        broker = await brokerOf(key, deps, r.needsActiveBroker !== false);
        return c.json(await r.handle({ c, body, key, broker }), 200);
      } catch (err) {
        const e = toOaError(err);
        if (!e) {
          deps.logger.error({ err, path: c.req.path }, "unhandled error in an OpenAlgo route");
          return c.json(oaErrorBody("An unexpected error occurred; the gateway log has the details"), 500);
        }
        if (e.status >= 500) deps.logger.warn({ message: e.message, path: c.req.path }, "OpenAlgo route: dependency unavailable");
        return c.json({ ...oaErrorBody(e.message), ...(broker === "paper" ? { mode: "analyze" } : {}) }, e.status, e.headers);
      }
    };
    // OpenAlgo's routes take a trailing slash too (Flask's strict_slashes=False).
    api.post(`/${r.name}`, tooLarge, handle);
    api.post(`/${r.name}/`, tooLarge, handle);
  }
}
