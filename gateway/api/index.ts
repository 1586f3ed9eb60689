/**
 * The gateway's API: REST under /api/v1, GET /openapi.json, and the WebSocket hub for /ws. Built
 * only on {@link Services} (gateway/api/services.ts) and {@link ApiKeys}.
 *
 * @example
 * const app = createApp(appDeps);
 * const keys = new ApiKeys(store.sql);
 * mountApi(app, { services, auth: keys, logger });
 * const ws = createWsHandlers({ services, auth: keys, logger });
 * const server = Bun.serve({
 *   port, hostname,
 *   fetch: (req, srv) => (ws.isUpgrade(req) ? ws.upgrade(req, srv) : app.fetch(req, srv)),
 *   websocket: ws.websocket,
 * });
 * // on stop: ws.close(); await server.stop(true);
 */
import { Hono } from "hono";
import type { Logger } from "../../src/logger.ts";
import { onlyGet } from "../app.ts";
import type { ApiKeys } from "./auth.ts";
import { mountDocs } from "./docs.ts";
import { ApiError, renderError } from "./errors.ts";
import { marketRoutes } from "./market.ts";
import { openApiDocument } from "./openapi.ts";
import { orderRoutes } from "./orders.ts";
import { pipelineRoutes } from "./pipeline.ts";
import { portfolioRoutes } from "./portfolios.ts";
import { RATE_BUDGETS } from "../../src/config.ts";
import { rateLimit, type RateLimiter } from "./rate-limit.ts";
import { riskRoutes } from "./risk.ts";
import { register, type Route } from "./route.ts";
import type { Services } from "./services.ts";
import { strategyRoutes } from "./strategies.ts";
import { whoamiRoutes } from "./whoami.ts";
import { webhookRoutes } from "../webhooks/routes.ts";
import { sourceRoutes } from "./sources.ts";

export { ApiKeys, createDevKey, registerBootstrapKey, type Scope } from "./auth.ts";
export { createWsHandlers, type WsHandlers, type WsOptions } from "./ws.ts";
export { limitUpgrades, RateLimiter } from "./rate-limit.ts";
export type { Services } from "./services.ts";

export const API_PREFIX = "/api/v1";

/** Room for a full batch of 1000 ticks, with margin. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ApiDeps {
  services: Services;
  auth: ApiKeys;
  logger: Logger;
  /** Default {@link MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Request budgets per API key (gateway/api/rate-limit.ts); none: no limits. */
  rateLimiter?: RateLimiter;
  /** More routes under the prefix, mounted before the 404/405 fallback (OpenAlgo's API: gateway/openalgo). */
  extensions?: readonly ApiExtension[];
}

/** Routes mounted beside ours that check their own keys and charge their own rate budgets (their keys are not in a header). */
export interface ApiExtension {
  /** Whether a path below the prefix is one of its routes (the shared rate limiter then leaves it to the extension). */
  owns(path: string): boolean;
  mount(api: Hono, limiter: RateLimiter | undefined): void;
}

/**
 * Every REST route, in the order the OpenAPI document lists them.
 *
 * @example
 * const doc = openApiDocument(apiRoutes(services), API_PREFIX);
 */
export const apiRoutes = (services: Services): Route[] => [
  ...orderRoutes(services),
  ...portfolioRoutes(services),
  ...strategyRoutes(services),
  ...webhookRoutes(services),
  ...riskRoutes(services),
  ...marketRoutes(services),
  ...whoamiRoutes(),
  ...pipelineRoutes(services),
  ...sourceRoutes(services),
];

/** A path below the prefix that matches a route's pattern, for telling 405 from 404. */
const matcher = (path: string) => new RegExp(`^${path.replace(/:[A-Za-z_]\w*/g, "[^/]+")}/?$`);

/**
 * Mounts the REST API at /api/v1, and GET /openapi.json and its reference page GET /docs (public) on `app`.
 * Returns the routes and the OpenAPI document it serves.
 *
 * @example
 * mountApi(app, { services, auth: new ApiKeys(store.sql), logger });
 */
export function mountApi(app: Hono, deps: ApiDeps): { routes: Route[]; openapi: Record<string, unknown> } {
  const routes = apiRoutes(deps.services);
  const api = new Hono();
  // Only when some budget limits anything: a middleware costs every request a step.
  const limiter = deps.rateLimiter;
  const extensions = deps.extensions ?? [];
  if (limiter && RATE_BUDGETS.some((b) => limiter.enabled(b))) {
    const limit = rateLimit(limiter, deps.auth);
    api.use("*", (c, next) => (extensions.some((e) => e.owns(c.req.path.slice(API_PREFIX.length))) ? next() : limit(c, next)));
  }
  register(api, routes, { keys: deps.auth, maxBodyBytes: deps.maxBodyBytes ?? MAX_BODY_BYTES });
  for (const e of extensions) e.mount(api, limiter);
  const patterns = routes.map((r) => ({ method: r.method, re: matcher(r.path) }));
  api.all("*", (c) => {
    const path = c.req.path.slice(API_PREFIX.length) || "/";
    const allowed = [...new Set(patterns.filter((p) => p.re.test(path)).map((p) => p.method))];
    if (allowed.length === 0) throw new ApiError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`);
    throw new ApiError("METHOD_NOT_ALLOWED", `${c.req.path} does not take ${c.req.method}; it takes ${allowed.join(", ")}`, { headers: { Allow: allowed.join(", ") } });
  });
  api.onError((err, c) => renderError(c, err, deps.logger));
  app.route(API_PREFIX, api);

  const openapi = openApiDocument(routes, API_PREFIX);
  app.get("/openapi.json", (c) => c.json(openapi));
  onlyGet(app, "/openapi.json");
  mountDocs(app);
  return { routes, openapi };
}
