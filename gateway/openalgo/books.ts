/**
 * OpenAlgo's books for the key's broker: orderbook (with its statistics), tradebook, positionbook,
 * holdings and funds. Orders and trades are today's (India's day), as a broker's day books are;
 * positions, holdings and funds are the portfolio our REST API answers (GET /portfolios/:broker),
 * the same cash, P&L and positions, in OpenAlgo's shapes (books-map.ts).
 */
import { z } from "zod";
import type { Broker } from "../../src/config.ts";
import type { OrderView, TradeView } from "../api/services.ts";
import { fundsOf, holdingsOf, istDayStart, netPositions, orderRow, orderStatistics, positionRow, tradeRow, type ByToken } from "./books-map.ts";
import type { OaDeps } from "./deps.ts";
import { oaRoute, type OaRoute } from "./route.ts";

/** Today's orders are read in pages of this many, newest first. */
const PAGE = 500;
/** At most this many of today's orders or trades are answered (the newest). */
export const DAY_BOOK_LIMIT = 5000;

/**
 * @example
 * const routes = bookRoutes(deps); // orderbook, tradebook, positionbook, holdings, funds
 */
export function bookRoutes(deps: OaDeps): OaRoute[] {
  const { services } = deps;
  const byToken: ByToken = (t) => services.instruments.byToken(t);

  async function todaysOrders(broker: Broker): Promise<OrderView[]> {
    const since = istDayStart(new Date());
    const out: OrderView[] = [];
    let cursor: string | undefined;
    while (out.length < DAY_BOOK_LIMIT) {
      const page = await services.orders.list({ broker, limit: PAGE, cursor });
      for (const o of page.orders) {
        if (o.created_at < since) return out;
        out.push(o);
      }
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return out.slice(0, DAY_BOOK_LIMIT);
  }

  async function todaysTrades(broker: Broker): Promise<TradeView[]> {
    const since = istDayStart(new Date());
    return (await services.portfolios.trades(broker, DAY_BOOK_LIMIT)).filter((t) => t.ts >= since);
  }

  async function netOf(broker: Broker) {
    const portfolio = await services.portfolios.get(broker);
    const products = await Promise.all(portfolio.positions.map((p) => deps.positionProduct(broker, p)));
    const productOf = new Map(portfolio.positions.map((p, i) => [p, products[i]!]));
    return { portfolio, net: netPositions(portfolio.positions, (p) => productOf.get(p)!) };
  }

  const book = (name: string, summary: string, handle: (broker: Broker) => Promise<unknown>) =>
    oaRoute({ name, summary, scope: "read", body: z.object({}), handle: async ({ broker }) => ({ status: "success", data: await handle(broker) }) });

  return [
    book("orderbook", "Today's orders of the key's broker, with their statistics", async (broker) => {
      const orders = await todaysOrders(broker);
      const products = await deps.orderProducts(orders.map((o) => o.order_id));
      const rows = orders.map((o) => orderRow(o, products.get(o.order_id), byToken));
      return { orders: rows, statistics: orderStatistics(rows) };
    }),
    book("tradebook", "Today's fills of the key's broker", async (broker) => {
      const trades = await todaysTrades(broker);
      const products = await deps.orderProducts([...new Set(trades.map((t) => t.order_id))]);
      return trades.map((t) => tradeRow(t, products.get(t.order_id), byToken));
    }),
    book("positionbook", "The key's broker's positions, per instrument and product (closed ones too)", async (broker) =>
      (await netOf(broker)).net.map((n) => positionRow(n, byToken)),
    ),
    book("holdings", "What the key's broker holds as delivery (CNC positions), with statistics", async (broker) => holdingsOf((await netOf(broker)).net, byToken)),
    book("funds", "Cash and P&L of the key's broker, as the portfolio reports them", async (broker) => fundsOf(await services.portfolios.get(broker))),
  ];
}
