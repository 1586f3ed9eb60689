/**
 * PATCH /orders/:id: change an open order's quantity, type or prices. The order as it would be
 * after the change is checked here like a new one (lot size, tick grid, the prices its type needs:
 * a 422 naming the field); risk judges it next, then the venue applies it. 202 with the order as it
 * is now: its `order.modified` (or `order.modify_rejected`, with the reason) follows in its events
 * and on the WebSocket.
 */
import { z } from "zod";
import type { Problem } from "../../src/errors.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import { isFinal, PRICES_NEEDED } from "../../src/orders/vocabulary.ts";
import { ApiError, invalid } from "./errors.ts";
import { offGrid, offLot } from "./lookups.ts";
import { route, type Route } from "./route.ts";
import { orderResponse } from "./schemas.ts";
import { modifyOrderBody } from "./schemas/orders.ts";
import { MODIFIABLE, type ModifyOrder, type OrderView, type Services } from "./services.ts";
import { orderJson } from "./views.ts";

type Change = z.output<typeof modifyOrderBody>;

const PRICE_FIELDS = ["price", "trigger_price"] as const;

/**
 * The order after `change`, or the problems that make it invalid. A price the request names must
 * be one the new type takes; a price the new type needs comes from the request or the order; a
 * price it does not take is dropped (a LIMIT made MARKET loses its price).
 *
 * @example
 * orderAfter(order, { price: 245_500 }, instrument); // { next: { quantity, order_type: "LIMIT", price: 245_500, changed: ["price"] } }
 */
export function orderAfter(order: OrderView, change: Change, instrument: Instrument): { next: ModifyOrder } | { problems: Problem[] } {
  const orderType = change.order_type ?? order.order_type;
  const needed = PRICES_NEEDED[orderType];
  const problems: Problem[] = [];
  const next: ModifyOrder = { quantity: change.quantity ?? order.quantity, order_type: orderType, changed: MODIFIABLE.filter((field) => change[field] !== undefined) };
  for (const field of PRICE_FIELDS) {
    if (!needed[field]) {
      if (change[field] !== undefined) problems.push({ path: field, message: `${field}: is not allowed on ${orderType} orders` });
      continue;
    }
    const value = change[field] ?? order[field];
    if (value === undefined) problems.push({ path: field, message: `${field}: is required for ${orderType} orders` });
    else next[field] = value;
  }
  if (change.quantity !== undefined && change.quantity <= order.filled_quantity) {
    problems.push({ path: "quantity", message: `quantity: ${change.quantity} is not above the ${order.filled_quantity} already filled (cancel the rest instead)` });
  }
  problems.push(...offLot(instrument, "quantity", next.quantity), ...offGrid(instrument, "price", change.price), ...offGrid(instrument, "trigger_price", change.trigger_price));
  return problems.length > 0 ? { problems } : { next };
}

/**
 * @example
 * register(api, [modifyRoute(services)], { keys, maxBodyBytes });
 */
export function modifyRoute(services: Services): Route {
  return route({
    method: "PATCH",
    path: "/orders/:id",
    params: { id: z.string().min(1).max(128).meta({ description: "An order_id this API gave out." }) },
    tag: "orders",
    summary: "Modify an open order (quantity, type, prices)",
    body: modifyOrderBody,
    responses: { 202: { description: "Modify requested: the order as it is now; its order.modified or order.modify_rejected event follows.", schema: orderResponse } },
    errors: [400, 404, 409, 413, 415],
    async handle({ param, body }) {
      const id = param("id");
      const order = await services.orders.get(id);
      if (!order) throw new ApiError("NOT_FOUND", `no order ${JSON.stringify(id)}`);
      if (isFinal(order.status)) throw new ApiError("CONFLICT", `order ${id} is ${order.status}: only an open order can be modified`);
      const instrument = services.instruments.byToken(order.instrument_token);
      if (!instrument) throw new ApiError("NOT_FOUND", `unknown instrument ${order.instrument_token}`);
      const after = orderAfter(order, body, instrument);
      if ("problems" in after) throw invalid(after.problems, "modify");
      await services.orders.modify(order, after.next);
      return { status: 202, body: { order: orderJson({ ...order, events: undefined }) } };
    },
  });
}
