/** Handcrafted ticks for the strategy tests. */
import type { Tick } from "../../src/events/payloads.ts";

export const RELIANCE = 738561;
export const TCS = 2953217;
export const INFY = 408065;

/** One tick per price, one second apart, all for one instrument. */
export const ticksOf = (token: number, prices: readonly number[]): Tick[] =>
  prices.map((last_price, i) => ({
    instrument_token: token,
    last_price,
    exchange_ts: new Date(Date.UTC(2025, 0, 6, 3, 45, i)).toISOString(),
    feed: "test",
  }));
