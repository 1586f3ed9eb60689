/**
 * Event time: the time an event carries, which stages decide by instead of the wall clock (so the
 * same input gives the same output, live or in a backtest).
 */
import type { Envelope } from "./envelope.ts";

/**
 * A tick's event time, ms since the epoch: when the exchange traded (`exchange_ts`), but never
 * after it was published (the envelope's `ts`): a feed whose clock runs ahead must not move the
 * day forward or expire orders.
 */
export function tickTimeMs(e: Envelope<"market.tick">): number {
  const published = parsePublished(e.ts);
  const exchange = e.data.exchange_ts ? parseExchange(e.data.exchange_ts) : Number.NaN;
  return Number.isFinite(exchange) && exchange < published ? exchange : published;
}

/** Date.parse remembering its last text: the ticks of one instant carry the same times. */
function lastParsed(): (text: string) => number {
  let last: string | undefined;
  let ms = Number.NaN;
  return (text) => {
    if (text !== last) {
      ms = Date.parse(text);
      last = text;
    }
    return ms;
  };
}
const parsePublished = lastParsed();
const parseExchange = lastParsed();

/**
 * {@link tickTimeMs} as UTC with milliseconds.
 *
 * @example
 * tickTime(tick); // "2026-12-02T03:45:00.000Z" for exchange_ts "2026-12-02T09:15:00+05:30"
 */
export function tickTime(e: Envelope<"market.tick">): string {
  const ms = tickTimeMs(e);
  return ms === parsePublished(e.ts) ? e.ts : new Date(ms).toISOString();
}
