/**
 * Modifying a resting order, as an exchange treats it: only the quantity, the order type and the
 * prices change (instrument, side and strategy stay). A quantity decrease alone keeps the order's
 * time priority (as does a modify that changes nothing); a price or type change or a larger quantity is a new entry at the back of the
 * book, and an order that becomes marketable fills at once like an arriving one. Pure, like the
 * rest of the exchange.
 */
import { PRICES_NEEDED } from "../orders/vocabulary.ts";
import type { ExchangeConfig } from "./config.ts";
import { modified, modifyRejected, orderFields } from "./events.ts";
import { match } from "./matching.ts";
import { stopTriggered } from "./pricing.ts";
import { applyUpdate, findClosed, has, lastTrade, ordersOf } from "./state.ts";
import type { ExchangeEvent, ExchangeResult, ExchangeState, InstrumentSpec, OpenOrder, OrderRequest } from "./types.ts";
import { refusal } from "./validate.ts";

/** What a modify may change; the rest of the order is the resting one's. */
export type OrderChange = Pick<OrderRequest, "order_id" | "instrument_token" | "quantity" | "order_type" | "price" | "trigger_price">;

const isStop = (o: Pick<OrderRequest, "order_type">) => PRICES_NEEDED[o.order_type].trigger_price;

/**
 * Whether the change keeps time priority: it only lowers the quantity, or changes nothing (a
 * modify handled again after a crash finds its change made already and leaves the order where it is).
 */
const keepsPlace = (before: OrderRequest, after: OrderRequest) =>
  after.quantity <= before.quantity && after.order_type === before.order_type && after.price === before.price && after.trigger_price === before.trigger_price;

/**
 * The resting order after `change`, its events (order.modified, then order.filled if it now
 * trades), or order.modify_rejected with the reason, the state unchanged.
 *
 * @example
 * modifyResting(state, { order_id: "o1", instrument_token: 738561, quantity: 5, order_type: "LIMIT", price: 100_00 }, now, deps);
 */
export function modifyResting(
  state: ExchangeState,
  change: OrderChange,
  now: string,
  deps: { instrument: (token: number) => InstrumentSpec | undefined; config: ExchangeConfig; inPlace: boolean },
): ExchangeResult {
  const orderId = change.order_id;
  const refuse = (token: number, reason_code: string, message: string): ExchangeResult => ({
    state,
    events: [modifyRejected({ order_id: orderId, instrument_token: token, reason_code, message })],
  });
  if (!has(state.open, orderId)) {
    const known = findClosed(state, orderId);
    return known ? refuse(known.order.instrument_token, "ORDER_NOT_OPEN", `order ${orderId} is ${known.status}`) : refuse(change.instrument_token, "UNKNOWN_ORDER", `no order ${orderId}`);
  }
  const token = state.open[orderId] as number;
  const all = ordersOf(state, token);
  const target = all.find((o) => o.order.order_id === orderId);
  if (!target) throw new Error(`exchange state is corrupt: open order ${orderId} is not in the book of ${token}`);
  const next: OrderRequest = orderFields({
    ...target.order,
    quantity: change.quantity,
    order_type: change.order_type,
    price: change.price,
    trigger_price: change.trigger_price,
  });
  if (next.quantity <= target.filled_quantity) {
    return refuse(token, "BELOW_FILLED_QUANTITY", `quantity ${next.quantity} is not above the ${target.filled_quantity} already filled: cancel the rest instead`);
  }
  const last = lastTrade(state, token);
  // An after-market order held until the open: its price checks wait for the market, as on arrival.
  const held = target.release_at !== undefined;
  const refused = refusal(next, deps.instrument(token), last?.price, deps.config, held);
  if (refused) return refuse(token, refused.reason, refused.message);

  const events: ExchangeEvent[] = [modified(next)];
  if (held) {
    // Changed where it is held, never matched before the open (it joins the book then as a new order).
    const status = isStop(next) ? ("TRIGGER_PENDING" as const) : ("OPEN" as const);
    const working = next.order_type === "MARKET" || next.order_type === "SL-M" ? ("MARKET" as const) : ("LIMIT" as const);
    const kept = all.map((o) => (o === target ? { ...o, order: next, status, working, updated_at: now } : o));
    return { state: applyUpdate(state, { token, orders: kept, opened: [], closed: [] }, deps.config.closed_order_memory, deps.inPlace), events };
  }
  if (keepsPlace(target.order, next)) {
    const kept = all.map((o) => (o === target ? { ...o, order: next, updated_at: now } : o));
    return { state: applyUpdate(state, { token, orders: kept, opened: [], closed: [] }, deps.config.closed_order_memory, deps.inPlace), events };
  }
  // A stop whose type and trigger stay as they were keeps its state; otherwise it is judged as on arrival.
  const sameStop = target.order.order_type === next.order_type && target.order.trigger_price === next.trigger_price;
  const fired = !isStop(next) || (sameStop && target.status === "OPEN") || (last !== undefined && next.trigger_price !== undefined && stopTriggered(next.side, last.price, next.trigger_price));
  let entry: OpenOrder = {
    ...target,
    order: next,
    status: fired ? "OPEN" : "TRIGGER_PENDING",
    working: next.order_type === "MARKET" || next.order_type === "SL-M" ? "MARKET" : "LIMIT",
    updated_at: now,
  };
  let nextLast = last;
  if (last) {
    const matched = match(entry, last, true, deps.config, now);
    entry = matched.order;
    nextLast = matched.last;
    if (matched.event) events.push(matched.event);
  }
  const others = all.filter((o) => o !== target);
  const done = entry.filled_quantity === entry.order.quantity;
  const update = {
    token,
    orders: done ? others : [...others, entry],
    opened: [],
    closed: done ? [{ order: next, status: "FILLED" as const, closed_at: now }] : [],
    ...(nextLast && nextLast !== last ? { last: nextLast } : {}),
  };
  return { state: applyUpdate(state, update, deps.config.closed_order_memory, deps.inPlace), events };
}
