/**
 * Event time: the time an event carries, which stages decide by instead of the wall clock (so the
 * same input gives the same output, live or in a backtest).
 */
import type { Envelope } from "./envelope.ts";
import { toIsoMs } from "./iso.ts";

/**
 * A tick's event time: when the exchange traded (`exchange_ts`, as UTC with milliseconds), else
 * when it was published (the envelope's `ts`).
 *
 * @example
 * tickTime(tick); // "2026-12-02T03:45:00.000Z" for exchange_ts "2026-12-02T09:15:00+05:30"
 */
export function tickTime(e: Envelope<"market.tick">): string {
  return e.data.exchange_ts ? toIsoMs(e.data.exchange_ts) : e.ts;
}
