/**
 * One open order against one last trade: does it fill, how much, at what price, for what fees.
 *
 * Fill prices, stated once:
 * - MARKET (and a fired SL-M): the last price moved by the slippage, on the grid, adversely.
 * - LIMIT arriving marketable (or a fired SL whose limit is marketable on the firing tick): the
 *   market price as above, but never worse than the limit (BUY: min, SELL: max).
 * - LIMIT resting when a later tick crosses it: exactly the limit price. A passive order trades
 *   at its own price; on a gap this is the conservative choice (never better than the limit).
 */
import type { ExchangeConfig } from "./config.ts";
import { filled, type FillFacts } from "./events.ts";
import { feesOnTurnover } from "./fees.ts";
import { assertSafe } from "../intmath.ts";
import { limitCrossed, marketableLimitPrice, slippedPrice } from "./pricing.ts";
import type { ExchangeEvent, LastTrade, OpenOrder } from "./types.ts";

export interface MatchOutcome {
  order: OpenOrder;
  last: LastTrade;
  event?: ExchangeEvent;
}

function priceFor(o: OpenOrder, last: LastTrade, arriving: boolean, config: ExchangeConfig): number | undefined {
  const { side, price } = o.order;
  if (o.working === "MARKET") return slippedPrice(side, last.price, config.slippage_bps, o.tick_size);
  if (price === undefined || !limitCrossed(side, price, last.price)) return undefined;
  return arriving ? marketableLimitPrice(side, price, last.price, config.slippage_bps, o.tick_size) : price;
}

function quantityFor(o: OpenOrder, last: LastTrade, config: ExchangeConfig): number {
  const remaining = o.order.quantity - o.filled_quantity;
  if (!config.partial_fills || last.available === null) return remaining;
  const cap = Math.floor(last.available / o.lot_size) * o.lot_size;
  return Math.min(remaining, cap);
}

/**
 * Tries to fill an OPEN order at the last trade. `arriving` is true when the order was just
 * submitted or its stop just fired (marketable-limit pricing applies).
 *
 * @example
 * const { order, event } = match(open, { price: 129_045, available: null }, true, config, now);
 */
export function match(o: OpenOrder, last: LastTrade, arriving: boolean, config: ExchangeConfig, now: string): MatchOutcome {
  if (o.status !== "OPEN") return { order: o, last };
  const price = priceFor(o, last, arriving, config);
  if (price === undefined) return { order: o, last };
  const quantity = quantityFor(o, last, config);
  if (quantity <= 0) return { order: o, last };

  const filledValue = assertSafe(o.filled_value + assertSafe(quantity * price, "fill value"), "filled value");
  // Charges depend only on cumulative turnover, so each fill pays the increase: the brokerage
  // cap holds per order and an order's charges are the same however it was split.
  const before = feesOnTurnover(o.order.side, o.filled_value, config.fees).total;
  const after = feesOnTurnover(o.order.side, filledValue, config.fees).total;
  const facts: FillFacts = {
    fill_id: `${o.order.order_id}-${o.fills + 1}`,
    fill_quantity: quantity,
    fill_price: price,
    filled_quantity: o.filled_quantity + quantity,
    fees: after - before,
  };
  return {
    order: { ...o, filled_quantity: facts.filled_quantity, filled_value: filledValue, fills: o.fills + 1, updated_at: now },
    last: last.available === null ? last : { ...last, available: last.available - quantity },
    event: filled(o.order, facts),
  };
}
