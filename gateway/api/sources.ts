/**
 * GET /sources/openalgo/orders: the orders of the OpenAlgo instance this gateway follows
 * (OPENALGO_SOURCE_TOPIC), newest first, read-only. Apart from GET /orders, whose orders are ours
 * (a broker, an instrument token, a strategy), so our brokers' answers keep their shape; the desk
 * shows both in one blotter. Mounted only when an OpenAlgo source is configured, so
 * /openapi.json tells a client (the desk) whether this gateway has one.
 */
import { z } from "zod";
import { route, type Route } from "./route.ts";
import { limitParam, moneyOut } from "./schemas/fields.ts";
import type { OpenAlgoOrderView, Services } from "./services.ts";
import { toRupees } from "../../src/money.ts";

const STATUSES = ["OPEN", "FILLED", "CANCELLED", "REJECTED"] as const;

export const openAlgoOrdersQuery = z.strictObject({
  status: z.enum(STATUSES).optional(),
  limit: limitParam.optional().meta({ description: "1 to 500, default 50." }),
  cursor: z.string().min(1).max(512).optional().meta({ description: "next_cursor of the previous page." }),
});

const text = z.string().nullable();
const quantity = z.number().int().nullable();
const money = moneyOut.nullable();

export const openAlgoOrderOut = z.object({
  source: z.literal("openalgo"),
  read_only: z.literal(true).meta({ description: "An OpenAlgo instance's order: followed, never cancelled or modified from here." }),
  order_id: z.string().meta({ description: "OpenAlgo's orderid." }),
  user_id: z.string(),
  symbol: z.string().meta({ description: "In OpenAlgo's symbol format." }),
  exchange: text,
  side: z.enum(["BUY", "SELL"]),
  quantity,
  price: money,
  trigger_price: money,
  order_type: text,
  product: text,
  status: z.enum(STATUSES),
  openalgo_status: text.meta({ description: "OpenAlgo's own status word, as it sent it." }),
  mode: text.meta({ description: "live, or analyze (OpenAlgo's sandbox)." }),
  broker: text.meta({ description: "The broker the OpenAlgo instance trades." }),
  strategy: text,
  filled_quantity: quantity,
  average_price: money,
  event_type: z.string(),
  event_ts: z.string().meta({ description: "The time of the latest message shown (UTC)." }),
  created_at: z.string(),
  updated_at: z.string(),
});

export const openAlgoOrderListResponse = z.object({ orders: z.array(openAlgoOrderOut), next_cursor: z.string().nullable() });

const rupees = (paise: number | null) => (paise === null ? null : toRupees(paise));

/** An OpenAlgo order with its money as decimal strings. */
export const openAlgoOrderJson = (o: OpenAlgoOrderView) => {
  const { seq: _seq, ...rest } = o;
  return { ...rest, price: rupees(o.price), trigger_price: rupees(o.trigger_price), average_price: rupees(o.average_price) };
};

/**
 * @example
 * register(api, sourceRoutes(services), { keys, maxBodyBytes });
 */
export function sourceRoutes(services: Services): Route[] {
  const openAlgo = services.openAlgo;
  if (openAlgo === undefined) return [];
  return [
    route({
      method: "GET",
      path: "/sources/openalgo/orders",
      tag: "orders",
      summary: "List the orders of the followed OpenAlgo instance, newest first (read-only)",
      query: openAlgoOrdersQuery,
      responses: { 200: { description: "A page; next_cursor is null on the last.", schema: openAlgoOrderListResponse } },
      async handle({ query }) {
        const page = await openAlgo.list({ limit: query.limit ?? 50, cursor: query.cursor, status: query.status });
        return { status: 200, body: { orders: page.orders.map(openAlgoOrderJson), next_cursor: page.next_cursor } };
      },
    }),
  ];
}
