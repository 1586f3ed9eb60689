/**
 * OpenAlgo's ways to place orders: placeorder, placesmartorder, basketorder, splitorder. Each
 * order is an ordinary one (`services.orders.place`: the orders table and the outbox, then risk,
 * the kill switch, the venue, the ledger), so our REST API, WebSocket and desk see it too. The
 * answer is OpenAlgo's: the order id once accepted; what became of it is orderstatus's to say.
 */
import { z } from "zod";
import type { Broker } from "../../src/config.ts";
import type { PlaceOrder, Services } from "../api/services.ts";
import type { OaDeps } from "./deps.ts";
import { OaError, toOaError } from "./errors.ts";
import { modeMark, orderFields, placeOrderOf, strategyField, type OaOrderFields } from "./order-fields.ts";
import { oaRoute, type OaRoute } from "./route.ts";
import { instrumentFor } from "./symbols.ts";
import { countOf, oaNumber, quantityOf, signedCountOf } from "./values.ts";

/** OpenAlgo's limit on a split's orders. */
export const MAX_SPLIT_ORDERS = 100;

const placeBody = z.object({ strategy: strategyField, ...orderFields, quantity: oaNumber });
const smartBody = placeBody.extend({ position_size: oaNumber });
const basketBody = z.object({
  strategy: strategyField,
  orders: z.array(z.object({ ...orderFields, quantity: oaNumber })).min(1).max(MAX_SPLIT_ORDERS),
});
const splitBody = z.object({ strategy: strategyField, ...orderFields, quantity: oaNumber, splitsize: oaNumber });

async function placed(services: Services, cmd: PlaceOrder): Promise<string> {
  return (await services.orders.place(cmd)).order.order_id;
}

/** A per-order result's error text: what the order was refused for, as OpenAlgo answers one in a batch. */
function messageOf(err: unknown): string {
  const e = toOaError(err);
  if (!e) throw err;
  return e.message;
}

/**
 * What placesmartorder places to bring `current` to `target`, by OpenAlgo's rules: the difference,
 * on its side; when both are 0, the request's own action and quantity; nothing when they match.
 *
 * @example
 * smartOrder(2, 5, "SELL", 1); // { side: "BUY", quantity: 3 }
 */
export function smartOrder(current: number, target: number, action: "BUY" | "SELL", quantity: number): { side: "BUY" | "SELL"; quantity: number } | undefined {
  if (target === 0 && current === 0) return quantity > 0 ? { side: action, quantity } : undefined;
  if (target === current) return undefined;
  return target > current ? { side: "BUY", quantity: target - current } : { side: "SELL", quantity: current - target };
}

/** The strategy's net quantity in one instrument on `broker`, from the portfolio read model. */
async function positionOf(services: Services, broker: Broker, strategy_id: string, instrument_token: number): Promise<number> {
  const portfolio = await services.portfolios.get(broker);
  return portfolio.positions.find((p) => p.strategy_id === strategy_id && p.instrument_token === instrument_token)?.quantity ?? 0;
}

/**
 * @example
 * const routes = placeRoutes(deps); // placeorder, placesmartorder, basketorder, splitorder
 */
export function placeRoutes(deps: OaDeps): OaRoute[] {
  const { services, symbols } = deps;
  return [
    oaRoute({
      name: "placeorder",
      summary: "Places one order",
      scope: "trade",
      body: placeBody,
      handle: async ({ body, broker }) => {
        const orderid = await placed(services, placeOrderOf(body, body.strategy, broker, symbols));
        return { status: "success", orderid, ...modeMark(broker) };
      },
    }),
    oaRoute({
      name: "placesmartorder",
      summary: "Places what moves the strategy's position in the symbol to position_size",
      scope: "trade",
      body: smartBody,
      handle: async ({ body, broker }) => {
        const instrument = instrumentFor(symbols, body.exchange, body.symbol);
        const target = signedCountOf(body.position_size, "position_size");
        const quantity = countOf(body.quantity, "quantity", 0);
        // The strategy's own position, not the account's: each of our strategies keeps its book,
        // and OpenAlgo's clients send one strategy name for all they trade (the SDK's "Python").
        const current = await positionOf(services, broker, body.strategy, instrument.instrument_token);
        const next = smartOrder(current, target, body.action, quantity);
        if (!next) return { status: "success", message: "Positions Already Matched. No Action needed.", ...modeMark(broker) };
        const lots = quantityOf(next.quantity, instrument, target === 0 && current === 0 ? "quantity" : "position_size");
        const cmd = placeOrderOf({ ...body, action: next.side }, body.strategy, broker, symbols, lots);
        return { status: "success", orderid: await placed(services, cmd), ...modeMark(broker) };
      },
    }),
    oaRoute({
      name: "basketorder",
      summary: "Places several orders, BUYs first; each answered with its orderid or its error",
      scope: "trade",
      body: basketBody,
      handle: async ({ body, broker }) => {
        // OpenAlgo places a basket's BUYs before its SELLs (margin from the hedge first).
        const ordered = [...body.orders.filter((o) => o.action === "BUY"), ...body.orders.filter((o) => o.action === "SELL")];
        const results = await Promise.all(
          ordered.map(async (o: OaOrderFields) => {
            try {
              const orderid = await placed(services, placeOrderOf(o, body.strategy, broker, symbols));
              return { symbol: o.symbol, exchange: o.exchange, product: o.product, status: "success", orderid };
            } catch (err) {
              return { symbol: o.symbol, status: "error", message: messageOf(err) };
            }
          }),
        );
        // `results` is what OpenAlgo answers now; `orders` what its OpenAPI document names.
        return { status: "success", results, orders: results, ...modeMark(broker) };
      },
    }),
    oaRoute({
      name: "splitorder",
      summary: "Places quantity as orders of splitsize each (and one of the rest)",
      scope: "trade",
      body: splitBody,
      handle: async ({ body, broker }) => {
        const instrument = instrumentFor(symbols, body.exchange, body.symbol);
        const total = quantityOf(body.quantity, instrument, "quantity");
        const size = quantityOf(body.splitsize, instrument, "splitsize");
        const parts = [...Array<number>(Math.floor(total / size)).fill(size), ...(total % size > 0 ? [total % size] : [])];
        if (parts.length > MAX_SPLIT_ORDERS) throw new OaError(400, `Total number of orders would exceed maximum limit of ${MAX_SPLIT_ORDERS}`);
        // Every part is checked before any is placed: a bad price refuses the split, not its last orders.
        const cmds = parts.map((quantity) => placeOrderOf(body, body.strategy, broker, symbols, quantity));
        const results = [];
        for (const [i, cmd] of cmds.entries()) {
          try {
            results.push({ order_num: i + 1, quantity: cmd.quantity, status: "success", orderid: await placed(services, cmd) });
          } catch (err) {
            results.push({ order_num: i + 1, quantity: cmd.quantity, status: "error", message: messageOf(err) });
          }
        }
        return { status: "success", total_quantity: total, split_size: size, results, orders: results, ...modeMark(broker) };
      },
    }),
  ];
}
