/**
 * Kite ticks → market.tick payloads: exact paise or nothing, the timestamp's fallbacks, bid and
 * ask from the best depth level, and every payload valid against the pipeline's schema.
 */
import { describe, expect, test } from "bun:test";
import { tickSchema } from "../../../src/events/payloads.ts";
import { decodeFrame } from "../../../src/kite/ticker/codec.ts";
import { priceToPaise, toMarketTick } from "../../../src/kite/ticker/market.ts";
import type { KiteTick } from "../../../src/kite/ticker/types.ts";
import * as V from "./vectors.ts";

const NOW = new Date("2024-01-02T03:04:05.678Z");

function tick(bytes: Uint8Array): KiteTick {
  const frame = decodeFrame(bytes);
  if (frame.kind !== "ticks" || !frame.ticks[0]) throw new Error("expected a tick");
  return frame.ticks[0];
}

describe("priceToPaise", () => {
  test("paise segments pass through; finer units convert only when exact", () => {
    expect(priceToPaise(245135, 100)).toBe(245135);
    expect(priceToPaise(832_500_000, 10_000_000)).toBe(8325);
    expect(priceToPaise(832_525_000, 10_000_000)).toBeUndefined();
    expect(priceToPaise(832_600, 10_000)).toBe(8326);
    expect(priceToPaise(832_575, 10_000)).toBeUndefined();
  });
});

describe("toMarketTick", () => {
  test("ltp: no timestamp in the packet, so now", () => {
    expect(toMarketTick(tick(V.NSE_LTP), NOW)).toEqual({ instrument_token: 408065, last_price: 145025, exchange_ts: "2024-01-02T03:04:05.678Z", feed: "kite" });
  });

  test("quote: quantity and volume, no depth so no bid/ask", () => {
    expect(toMarketTick(tick(V.NSE_QUOTE), NOW)).toEqual({
      instrument_token: 884737,
      last_price: 45630,
      last_quantity: 25,
      volume: 3_000_000_000,
      exchange_ts: NOW.toISOString(),
      feed: "kite",
    });
  });

  test("full: the exchange timestamp, bid and ask from the best level, and the book without its empty levels", () => {
    expect(toMarketTick(tick(V.NFO_FULL), NOW)).toEqual({
      instrument_token: 12999938,
      last_price: 2245050,
      last_quantity: 75,
      volume: 150000,
      bid: 2245000,
      ask: 2245100,
      depth: {
        buy: [
          { price: 2245000, quantity: 75, orders: 3 },
          { price: 2244950, quantity: 150, orders: 5 },
          { price: 2244900, quantity: 225, orders: 7 },
          { price: 2244850, quantity: 300, orders: 9 },
        ],
        sell: [
          { price: 2245100, quantity: 50, orders: 2 },
          { price: 2245150, quantity: 100, orders: 4 },
          { price: 2245200, quantity: 1, orders: 65535 },
        ],
      },
      exchange_ts: "2023-11-14T22:13:21.000Z",
      feed: "kite",
    });
  });

  test("a quote-mode tick carries no book, even where Kite sent one (only full mode streams depth)", () => {
    const t = tick(V.NFO_FULL);
    expect(toMarketTick({ ...t, mode: "quote" }, NOW)).not.toHaveProperty("depth");
  });

  test("the last trade time when there is no exchange timestamp", () => {
    const t = { ...tick(V.NFO_FULL), exchange_timestamp: undefined };
    expect(toMarketTick(t, NOW)?.exchange_ts).toBe("2023-11-14T22:13:20.000Z");
  });

  test("an empty best level gives no bid (or ask)", () => {
    const t = tick(V.NFO_FULL);
    const empty = { quantity: 0, price: 0, orders: 0 };
    const m = toMarketTick({ ...t, depth: { buy: [empty], sell: t.depth!.sell } }, NOW);
    expect(m).not.toHaveProperty("bid");
    expect(m?.ask).toBe(2245100);
  });

  test("index ticks carry their price and timestamp", () => {
    expect(toMarketTick(tick(V.INDEX_FULL), NOW)).toEqual({ instrument_token: 260105, last_price: 4512345, exchange_ts: "2023-11-14T22:13:22.000Z", feed: "kite" });
  });

  test("CDS and BCD: exact prices convert, finer ones are left out rather than rounded", () => {
    expect(toMarketTick(tick(V.CDS_LTP_EXACT), NOW)?.last_price).toBe(8325);
    expect(toMarketTick(tick(V.CDS_LTP_FINE), NOW)).toBeUndefined();
    expect(toMarketTick(tick(V.BCD_LTP_EXACT), NOW)?.last_price).toBe(8326);
    expect(toMarketTick(tick(V.BCD_LTP_FINE), NOW)).toBeUndefined();
  });

  test("a quote finer than a paisa also makes the tick inexact", () => {
    const t: KiteTick = {
      ...tick(V.CDS_LTP_EXACT),
      mode: "full",
      depth: { buy: [{ quantity: 1, price: 832_475_000, orders: 1 }], sell: [{ quantity: 1, price: 832_525_000, orders: 1 }] },
    };
    expect(toMarketTick(t, NOW)).toBeUndefined();
  });

  test("no trade yet (last price 0) is not a tick", () => {
    expect(toMarketTick({ ...tick(V.NSE_LTP), last_price: 0 }, NOW)).toBeUndefined();
  });

  test("every payload is valid against the market.tick schema", () => {
    for (const v of [V.NSE_LTP, V.NSE_QUOTE, V.NFO_FULL, V.FORUM_MCX_FULL, V.FORUM_NIFTY_QUOTE, V.INDEX_FULL, V.CDS_LTP_EXACT, V.BCD_LTP_EXACT]) {
      const m = toMarketTick(tick(v), NOW);
      expect(m).toBeDefined();
      expect(tickSchema.safeParse(m).success).toBe(true);
    }
  });
});
