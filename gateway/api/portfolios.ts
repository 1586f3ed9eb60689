/**
 * Portfolios (cash, P&L, positions) per active broker, the trades (fills) behind them, and the
 * square-off that flattens them.
 */
import type { z } from "zod";
import type { Broker } from "../../src/config.ts";
import { brokerRoute } from "./broker-route.ts";
import { activeBroker, knownToken } from "./lookups.ts";
import { immutableBody, route, type Route } from "./route.ts";
import { portfolioListResponse, portfolioResponse, positionsResponse, squareOffBody, squareOffResponse, tradesQuery, tradesResponse } from "./schemas.ts";
import type { PortfolioView, Services } from "./services.ts";
import { orderJson, portfolioJson, positionJson, tradeJson } from "./views.ts";

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
export function portfolioRoutes(services: Services): Route[] {
  /** A GET of (part of) one broker's portfolio. */
  const portfolioRoute = (path: string, summary: string, answer: { description: string; schema: z.ZodType }, body: (view: PortfolioView, broker: Broker) => object) =>
    brokerRoute(services, {
      method: "GET",
      path,
      tag: "portfolios",
      summary,
      responses: { 200: answer },
      errors: [404],
      handle: async ({ broker }) => ({ status: 200, body: body(await services.portfolios.get(broker), broker) }),
    });
  return [
    route({
      method: "GET",
      path: "/portfolios",
      tag: "portfolios",
      summary: "The portfolio of every active broker",
      responses: { 200: { description: "One portfolio per active broker.", schema: portfolioListResponse } },
      async handle() {
        const all = await Promise.all(services.activeBrokers.map((b) => services.portfolios.get(b)));
        return { status: 200, body: { portfolios: all.map(portfolioJson) } };
      },
    }),
    portfolioRoute("/portfolios/:broker", "One broker's portfolio", { description: "Cash, P&L and positions.", schema: portfolioResponse }, portfolioBody),
    portfolioRoute("/portfolios/:broker/positions", "One broker's positions", { description: "Positions per strategy and instrument.", schema: positionsResponse }, (view, broker) => ({
      broker,
      positions: view.positions.map(positionJson),
    })),
    brokerRoute(services, {
      method: "POST",
      path: "/portfolios/:broker/close",
      tag: "portfolios",
      summary: "Square off: flatten the matching positions with reduce-only MARKET orders",
      body: squareOffBody,
      responses: {
        202: {
          description:
            "One MARKET order per matching non-zero position, opposite side, its whole net quantity, under the product of the order that opened it (MIS when none is known), reduce-only: it passes REDUCING and HALTED (the kill switch never stops a trader from getting flat).",
          schema: squareOffResponse,
        },
      },
      errors: [400, 404, 409, 413, 415],
      async handle({ broker, body }) {
        if (body.instrument_token !== undefined) knownToken(services, body.instrument_token, "request body");
        const orders = await services.portfolios.close(broker, { strategy_id: body.strategy_id, instrument_token: body.instrument_token });
        return { status: 202, body: { orders: orders.map(orderJson) } };
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
        const brokers = query.broker === undefined ? services.activeBrokers : [activeBroker(services, query.broker)];
        const lists = await Promise.all(brokers.map((b) => services.portfolios.trades(b, limit)));
        // ISO timestamps of one format sort as strings.
        const trades = lists.flat().sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0)).slice(0, limit);
        return { status: 200, body: { trades: trades.map(tradeJson) } };
      },
    }),
  ];
}
