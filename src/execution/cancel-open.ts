/**
 * Cancelling every open order of one instrument with a product: the day's end cancels the open
 * MIS orders (an order with no product is MIS). Pure, over the exchange's own cancel.
 */
import type { Product } from "../orders/vocabulary.ts";
import type { PaperExchange } from "./exchange.ts";
import { ordersOf } from "./state.ts";
import type { ExchangeEvent, ExchangeResult, ExchangeState } from "./types.ts";

/**
 * The open orders of `token` with `product`, cancelled at `now` with `reason`, in book order.
 *
 * @example
 * const { state: next, events } = cancelOpen(exchange, state, 738561, "MIS", now, "MIS square-off at 15:20 IST");
 */
export function cancelOpen(exchange: PaperExchange, state: ExchangeState, token: number, product: Product, now: string, reason: string): ExchangeResult {
  const ids = ordersOf(state, token)
    .filter((o) => (o.order.product ?? "MIS") === product)
    .map((o) => o.order.order_id);
  const events: ExchangeEvent[] = [];
  let next = state;
  for (const id of ids) {
    const r = exchange.cancel(next, id, now, reason);
    next = r.state;
    events.push(...r.events);
  }
  return { state: next, events };
}
