/**
 * Kite ticks → our `market.tick` payload. The pipeline's prices are integer paise, so a tick
 * whose price is finer than a paisa (most CDS and BCD quotes) has no exact payload and is left
 * out rather than rounded.
 */
import type { Tick } from "../../events/payloads.ts";
import type { KiteDepth, KiteDepthLevel, KiteTick, PriceDivisor } from "./types.ts";

/**
 * A price in the segment's units → paise, or undefined when it is not a whole number of paise.
 *
 * @example
 * priceToPaise(832_500_000, 10_000_000); // 8325   (₹83.25 on CDS)
 * priceToPaise(832_525_000, 10_000_000); // undefined (₹83.2525)
 */
export function priceToPaise(units: number, divisor: PriceDivisor): number | undefined {
  if (divisor === 100) return units;
  const perPaisa = divisor / 100;
  return units % perPaisa === 0 ? units / perPaisa : undefined;
}

/**
 * The `market.tick` payload for a Kite tick, or undefined when it cannot be one exactly: a price
 * finer than a paisa, or no trade yet (last price 0). The timestamp is the exchange's, else the
 * last trade's, else `now` (an ltp packet carries neither). Bid and ask are the best depth level
 * when it has a price and a quantity; a full-mode tick also carries its book (`depth`).
 *
 * @example
 * toMarketTick(tick, new Date()); // { instrument_token: 408065, last_price: 145025, exchange_ts: "…", feed: "kite" }
 */
export function toMarketTick(t: KiteTick, now: Date): Tick | undefined {
  const last = priceToPaise(t.last_price, t.price_divisor);
  if (last === undefined || last <= 0) return undefined;
  const tick: Tick = {
    instrument_token: t.instrument_token,
    last_price: last,
    exchange_ts: t.exchange_timestamp ?? t.last_trade_time ?? now.toISOString(),
    feed: "kite",
  };
  if (t.last_quantity !== undefined) tick.last_quantity = t.last_quantity;
  if (t.volume !== undefined) tick.volume = t.volume;
  for (const [field, level] of [["bid", t.depth?.buy[0]], ["ask", t.depth?.sell[0]]] as const) {
    if (!level || level.price === 0 || level.quantity === 0) continue;
    const price = priceToPaise(level.price, t.price_divisor);
    // A tick whose quote would have to be rounded is not exact either.
    if (price === undefined) return undefined;
    tick[field] = price;
  }
  if (t.mode === "full" && t.depth) {
    const depth = depthInPaise(t.depth, t.price_divisor);
    if (depth) tick.depth = depth;
  }
  return tick;
}

/** Full mode's book in paise, empty levels left out; undefined when a level is finer than a paisa (no exact book). */
function depthInPaise(depth: KiteDepth, divisor: PriceDivisor): NonNullable<Tick["depth"]> | undefined {
  const side = (levels: readonly KiteDepthLevel[]) => {
    const out: NonNullable<Tick["depth"]>["buy"] = [];
    for (const l of levels) {
      if (l.price === 0 || l.quantity === 0) continue;
      const price = priceToPaise(l.price, divisor);
      if (price === undefined) return undefined;
      out.push({ price, quantity: l.quantity, orders: l.orders });
    }
    return out;
  };
  const buy = side(depth.buy);
  const sell = side(depth.sell);
  return buy && sell && (buy.length > 0 || sell.length > 0) ? { buy, sell } : undefined;
}
