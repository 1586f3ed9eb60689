/**
 * Portfolios (cash, P&L, positions) per active broker, and the trades (fills) behind them.
 */
import { activeBroker } from "./lookups.ts";
import { immutableBody, route, type Route } from "./route.ts";
import { portfolioListResponse, portfolioResponse, positionsResponse, tradesQuery, tradesResponse, brokerParam } from "./schemas.ts";
import type { PortfolioView, Services } from "./services.ts";
import { portfolioJson, positionJson, tradeJson } from "./views.ts";

/** Response bodies of frozen portfolio views (the services hand out one per unchanged portfolio). */
const bodies = new WeakMap<PortfolioView, object>();

/** `{ portfolio }` for a view; for a frozen view, made (and serialized) once. */
function portfolioBody(view: PortfolioView): object {
  if (!Object.isFrozen(view)) return { portfolio: portfolioJson(view) };
  let body = bodies.get(view);
  if (!body) bodies.set(view, (body = immutableBody(Object.freeze({ portfolio: portfolioJson(view) }))));
  return body;
}

/**
 * The portfolios and trades routes over the services.
 *
 * @example
 * register(api, portfolioRoutes(services), { keys, maxBodyBytes });
 */
export function portfolioRoutes(s: Services): Route[] {
  return [
    route({
      method: "GET",
      path: "/portfolios",
      tag: "portfolios",
      summary: "The portfolio of every active broker",
      responses: { 200: { description: "One portfolio per active broker.", schema: portfolioListResponse } },
      async handle() {
        const all = await Promise.all(s.activeBrokers.map((b) => s.portfolios.get(b)));
        return { status: 200, body: { portfolios: all.map(portfolioJson) } };
      },
    }),
    route({
      method: "GET",
      path: "/portfolios/:broker",
      params: { broker: brokerParam(s) },
      tag: "portfolios",
      summary: "One broker's portfolio",
      responses: { 200: { description: "Cash, P&L and positions.", schema: portfolioResponse } },
      errors: [404],
      async handle({ param }) {
        return { status: 200, body: portfolioBody(await s.portfolios.get(activeBroker(s, param("broker")))) };
      },
    }),
    route({
      method: "GET",
      path: "/portfolios/:broker/positions",
      params: { broker: brokerParam(s) },
      tag: "portfolios",
      summary: "One broker's positions",
      responses: { 200: { description: "Positions per strategy and instrument.", schema: positionsResponse } },
      errors: [404],
      async handle({ param }) {
        const broker = activeBroker(s, param("broker"));
        const p = await s.portfolios.get(broker);
        return { status: 200, body: { broker, positions: p.positions.map(positionJson) } };
      },
    }),
    route({
      method: "GET",
      path: "/trades",
      tag: "portfolios",
      summary: "Recent trades (fills), newest first",
      query: tradesQuery,
      responses: { 200: { description: "Trades.", schema: tradesResponse } },
      errors: [404],
      async handle({ query }) {
        const limit = query.limit ?? 50;
        const brokers = query.broker === undefined ? s.activeBrokers : [activeBroker(s, query.broker)];
        const lists = await Promise.all(brokers.map((b) => s.portfolios.trades(b, limit)));
        // ISO timestamps of one format sort as strings.
        const trades = lists.flat().sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0)).slice(0, limit);
        return { status: 200, body: { trades: trades.map(tradeJson) } };
      },
    }),
  ];
}
