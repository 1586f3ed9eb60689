/**
 * OpenAlgo's REST API, served by our gateway under /api/v1 (its own base path; none of its names
 * collide with ours). Each group of routes is its own module; this list is the whole API.
 *
 * @example
 * const openAlgo = openAlgoMount({ services, keys, sql: store.sql, activeBrokers, logger, cache });
 * mountApi(app, { services, auth: keys, logger, extensions: [openAlgo] });
 */
import type { Sql } from "postgres";
import type { Broker } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { openAlgoLive, setOpenAlgoLive } from "../../src/store/api-keys.ts";
import type { Cache } from "../../src/cache/port.ts";
import { cacheQuotes, type QuoteReader } from "../../src/market/quotes.ts";
import { countOrders, lastFilledProduct, orderProducts } from "../../src/store/orders.ts";
import { withinStore } from "../../src/store/wait.ts";
import type { ApiKeys } from "../api/auth.ts";
import { MAX_BODY_BYTES, type ApiExtension } from "../api/index.ts";
import type { Services } from "../api/services.ts";
import { accountRoutes } from "./account.ts";
import { bookRoutes } from "./books.ts";
import { marketRoutes } from "./market.ts";
import type { OaDeps } from "./deps.ts";
import { manageRoutes } from "./orders-manage.ts";
import { placeRoutes } from "./orders-place.ts";
import { mountOpenAlgo, type KeyModes, type OaRoute } from "./route.ts";
import { symbolIndex } from "./symbols.ts";

export { mountOpenAlgo, type KeyModes, type OpenAlgoMountDeps } from "./route.ts";
export { symbolIndex } from "./symbols.ts";
export type { OaDeps } from "./deps.ts";

/** Every OpenAlgo route. */
export const openAlgoRoutes = (deps: OaDeps): OaRoute[] => [...accountRoutes(deps), ...placeRoutes(deps), ...manageRoutes(deps), ...bookRoutes(deps), ...marketRoutes(deps)];

/** The key modes in the api_keys table (migration 0016), each call bounded like every store call. */
export const storeKeyModes = (sql: Sql): KeyModes => ({
  live: (hash) => withinStore(openAlgoLive(sql, hash), "cannot read the key's analyzer mode"),
  setLive: (hash, live) => withinStore(setOpenAlgoLive(sql, hash, live), "cannot set the key's analyzer mode"),
});

const NO_QUOTES: QuoteReader = { get: async (tokens) => tokens.map(() => undefined) };

/**
 * OpenAlgo's API over the gateway's services and store (and the cache, for quotes), as an extension for mountApi.
 *
 * @example
 * mountApi(app, { …, extensions: [openAlgoMount({ services, keys, sql, activeBrokers, logger, cache })] });
 */
export function openAlgoMount(deps: { services: Services; keys: ApiKeys; sql: Sql; activeBrokers: readonly Broker[]; logger: Logger; cache?: Cache }): ApiExtension {
  const modes = storeKeyModes(deps.sql);
  const routes = openAlgoRoutes({
    services: deps.services,
    activeBrokers: deps.activeBrokers,
    symbols: symbolIndex(deps.services.instruments.list()),
    modes,
    paperOrderCount: () => withinStore(countOrders(deps.sql, "paper"), "cannot count the paper orders"),
    orderProducts: (ids) => withinStore(orderProducts(deps.sql, ids), "cannot read the orders' products"),
    positionProduct: async (broker, p) => {
      const of = (side: "BUY" | "SELL") => withinStore(lastFilledProduct(deps.sql, { broker, strategy_id: p.strategy_id, instrument_token: p.instrument_token, side }), "cannot read the position's product");
      const opening = p.quantity < 0 ? "SELL" : "BUY";
      return (await of(opening)) ?? (p.quantity === 0 ? await of("SELL") : undefined) ?? "MIS";
    },
    // Without a cache (tests of other routes) no tick has been seen: every quote is "none yet".
    quotes: deps.cache ? cacheQuotes(deps.cache) : NO_QUOTES,
  });
  const names = new Set(routes.map((r) => r.name));
  return {
    owns: (path) => names.has(path.replace(/^\/|\/$/g, "")),
    mount: (api, limiter) => mountOpenAlgo(api, { routes, keys: deps.keys, modes, activeBrokers: deps.activeBrokers, logger: deps.logger, maxBodyBytes: MAX_BODY_BYTES, limiter }),
  };
}
