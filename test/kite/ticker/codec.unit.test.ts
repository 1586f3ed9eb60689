/**
 * The Kite ticker codec against byte vectors (two of them real frames from Zerodha's forum),
 * the CDS/BCD price units, heartbeats, several packets in a frame, malformed frames refused
 * with their offset, and decode(encode(tick)) = tick for every packet kind.
 */
import { describe, expect, test } from "bun:test";
import { AlphaError } from "../../../src/errors.ts";
import { decodeFrame } from "../../../src/kite/ticker/codec.ts";
import type { KiteTick } from "../../../src/kite/ticker/types.ts";
import { encodeFrame, encodePacket } from "./encode.ts";
import * as V from "./vectors.ts";

function ticks(bytes: Uint8Array): KiteTick[] {
  const frame = decodeFrame(bytes);
  if (frame.kind !== "ticks") throw new Error("expected ticks");
  return frame.ticks;
}

const level = (quantity: number, price: number, orders: number) => ({ quantity, price, orders });
const EMPTY = level(0, 0, 0);

describe("byte vectors", () => {
  test("ltp: token and last price", () => {
    expect(ticks(V.NSE_LTP)).toEqual([
      { instrument_token: 408065, segment: "NSE", mode: "ltp", tradable: true, price_divisor: 100, last_price: 145025 },
    ]);
  });

  test("quote: every field, unsigned, change = last − close", () => {
    expect(ticks(V.NSE_QUOTE)).toEqual([
      {
        instrument_token: 884737,
        segment: "NSE",
        mode: "quote",
        tradable: true,
        price_divisor: 100,
        last_price: 45630,
        last_quantity: 25,
        average_price: 45612,
        volume: 3_000_000_000,
        buy_quantity: 70000,
        sell_quantity: 65535,
        ohlc: { open: 45500, high: 45800, low: 45400, close: 45000 },
        change: 630,
      },
    ]);
  });

  test("full (184 bytes): timestamps, OI and five levels a side", () => {
    expect(ticks(V.NFO_FULL)).toEqual([
      {
        instrument_token: 12999938,
        segment: "NFO",
        mode: "full",
        tradable: true,
        price_divisor: 100,
        last_price: 2245050,
        last_quantity: 75,
        average_price: 2244000,
        volume: 150000,
        buy_quantity: 30000,
        sell_quantity: 45000,
        ohlc: { open: 2240000, high: 2250000, low: 2235000, close: 2238000 },
        change: 7050,
        last_trade_time: "2023-11-14T22:13:20.000Z",
        oi: 1500000,
        oi_day_high: 1600000,
        oi_day_low: 1400000,
        exchange_timestamp: "2023-11-14T22:13:21.000Z",
        depth: {
          buy: [level(75, 2245000, 3), level(150, 2244950, 5), level(225, 2244900, 7), level(300, 2244850, 9), EMPTY],
          sell: [level(50, 2245100, 2), level(100, 2245150, 4), level(1, 2245200, 65535), EMPTY, EMPTY],
        },
      },
    ]);
  });

  test("the forum's real MCX full frame (164-byte layout)", () => {
    expect(V.FORUM_MCX_FULL.byteLength).toBe(168);
    expect(ticks(V.FORUM_MCX_FULL)).toEqual([
      {
        instrument_token: 53253383,
        segment: "MCX",
        mode: "full",
        tradable: true,
        price_divisor: 100,
        last_price: 2423600,
        last_quantity: 1,
        average_price: 2428842,
        volume: 712,
        buy_quantity: 218,
        sell_quantity: 154,
        ohlc: { open: 2433500, high: 2435100, low: 2422300, close: 2439200 },
        change: -15600,
        depth: {
          buy: [level(1, 2423500, 1), level(1, 2423300, 1), level(16, 2423200, 2), level(1, 2423000, 1), level(1, 2422600, 1)],
          sell: [level(1, 2423800, 1), level(1, 2424000, 1), level(2, 2424800, 1), level(1, 2425000, 1), level(1, 2426900, 1)],
        },
      },
    ]);
  });

  test("the forum's real NIFTY 50 index quote: own field order, signed net change, not tradable", () => {
    expect(ticks(V.FORUM_NIFTY_QUOTE)).toEqual([
      {
        instrument_token: 256265,
        segment: "INDICES",
        mode: "quote",
        tradable: false,
        price_divisor: 100,
        last_price: 912685,
        ohlc: { open: 916695, high: 916760, low: 911630, close: 912685 },
        change: -36,
      },
    ]);
  });

  test("index full (32 bytes): with the exchange timestamp", () => {
    expect(ticks(V.INDEX_FULL)).toEqual([
      {
        instrument_token: 260105,
        segment: "INDICES",
        mode: "full",
        tradable: false,
        price_divisor: 100,
        last_price: 4512345,
        ohlc: { open: 4500000, high: 4530000, low: 4490000, close: 4480000 },
        change: 32345,
        exchange_timestamp: "2023-11-14T22:13:22.000Z",
      },
    ]);
  });
});

describe("price units", () => {
  test("CDS prices are in 1e-7 rupee, kept as integers with divisor 10,000,000", () => {
    expect(ticks(V.CDS_LTP_FINE)[0]).toMatchObject({ instrument_token: 65539, segment: "CDS", price_divisor: 10_000_000, last_price: 832_525_000 });
    expect(ticks(V.CDS_LTP_EXACT)[0]).toMatchObject({ segment: "CDS", price_divisor: 10_000_000, last_price: 832_500_000 });
  });

  test("BCD prices are in 1e-4 rupee, divisor 10,000", () => {
    expect(ticks(V.BCD_LTP_FINE)[0]).toMatchObject({ instrument_token: 131078, segment: "BCD", price_divisor: 10_000, last_price: 832_575 });
    expect(ticks(V.BCD_LTP_EXACT)[0]).toMatchObject({ segment: "BCD", price_divisor: 10_000, last_price: 832_600 });
  });

  test("every other segment is in paise", () => {
    for (const bytes of [V.NSE_LTP, V.NFO_FULL, V.FORUM_MCX_FULL, V.FORUM_NIFTY_QUOTE]) expect(ticks(bytes)[0]?.price_divisor).toBe(100);
  });
});

describe("frames", () => {
  test("0 and 1 byte frames are heartbeats", () => {
    expect(decodeFrame(new Uint8Array([]))).toEqual({ kind: "heartbeat" });
    expect(decodeFrame(new Uint8Array([0]))).toEqual({ kind: "heartbeat" });
    expect(decodeFrame(new Uint8Array([7]))).toEqual({ kind: "heartbeat" });
  });

  test("a frame of zero packets has no ticks", () => {
    expect(decodeFrame(new Uint8Array([0, 0]))).toEqual({ kind: "ticks", ticks: [] });
  });

  test("several packets of different kinds in one frame, in order", () => {
    const frame = new Uint8Array([0, 3, 0, 8, ...V.NSE_LTP_PACKET, 0, 32, ...V.INDEX_FULL_PACKET, 0, 44, ...V.NSE_QUOTE_PACKET]);
    const got = ticks(frame);
    expect(got.map((t) => [t.instrument_token, t.mode, t.last_price])).toEqual([
      [408065, "ltp", 145025],
      [260105, "full", 4512345],
      [884737, "quote", 45630],
    ]);
    expect(got).toEqual([...ticks(V.NSE_LTP), ...ticks(V.INDEX_FULL), ...ticks(V.NSE_QUOTE)]);
  });

  test("a frame that is a view into a larger buffer is read from its own start", () => {
    const big = new Uint8Array(5 + V.NSE_LTP.byteLength + 3).fill(0xee);
    big.set(V.NSE_LTP, 5);
    expect(ticks(big.subarray(5, 5 + V.NSE_LTP.byteLength))).toEqual(ticks(V.NSE_LTP));
  });
});

describe("malformed frames are refused with the offset", () => {
  function refused(bytes: number[], offset: number, words: RegExp): void {
    let err: unknown;
    try {
      decodeFrame(new Uint8Array(bytes));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AlphaError);
    const a = err as AlphaError;
    expect(a.code).toBe("PAYLOAD_INVALID");
    expect(a.canRetry).toBe(false);
    expect(a.message).toContain(`offset ${offset}`);
    expect(a.message).toMatch(words);
    expect(a.details).toMatchObject({ offset });
  }

  test("a count of more packets than the frame holds", () => {
    refused([0, 2, 0, 8, ...V.NSE_LTP_PACKET], 12, /packet 2 of 2: no length/);
    refused([0, 2, 0, 8, ...V.NSE_LTP_PACKET, 0], 12, /no length/); // half a length
  });

  test("a length running past the end", () => {
    refused([0, 1, 0, 44, ...V.NSE_LTP_PACKET], 4, /declares 44 bytes, 8 remain/);
    refused([0, 2, 0, 8, ...V.NSE_LTP_PACKET, 0, 8, 0, 6, 58], 14, /declares 8 bytes, 3 remain/);
  });

  test("a length that is no known packet", () => {
    refused([0, 1, 0, 10, ...V.NSE_LTP_PACKET, 0, 0], 4, /unknown packet length 10/);
    refused([0, 2, 0, 8, ...V.NSE_LTP_PACKET, 0, 0], 14, /unknown packet length 0/);
  });

  test("bytes left over after the last packet", () => {
    refused([0, 1, 0, 8, ...V.NSE_LTP_PACKET, 9], 12, /1 bytes left over/);
    refused([0, 0, 1], 2, /left over/);
  });

  test("a token whose segment is unknown (the price divisor would be a guess)", () => {
    refused([0, 1, 0, 8, 0, 6, 58, 0, 0, 2, 54, 129], 4, /unknown segment 0/);
    refused([0, 1, 0, 8, 0, 6, 58, 10, 0, 2, 54, 129], 4, /unknown segment 10/);
  });
});

describe("decode(encode(tick)) = tick", () => {
  const full = ticks(V.NFO_FULL)[0]!;
  const cases: Record<string, KiteTick> = {
    ltp: ticks(V.NSE_LTP)[0]!,
    "ltp, CDS": ticks(V.CDS_LTP_FINE)[0]!,
    "ltp, BCD": ticks(V.BCD_LTP_FINE)[0]!,
    "ltp, index": { instrument_token: 256265, segment: "INDICES", mode: "ltp", tradable: false, price_divisor: 100, last_price: 2_345_670 },
    quote: ticks(V.NSE_QUOTE)[0]!,
    "quote, no close (no change)": { ...ticks(V.NSE_QUOTE)[0]!, ohlc: { open: 0, high: 0, low: 0, close: 0 }, change: undefined },
    full,
    "full, no trade time yet": { ...full, last_trade_time: undefined },
    "full, legacy 164": ticks(V.FORUM_MCX_FULL)[0]!,
    "index quote": ticks(V.FORUM_NIFTY_QUOTE)[0]!,
    "index full": ticks(V.INDEX_FULL)[0]!,
    "extremes: uint32 max prices and quantities": {
      ...full,
      last_price: 0xffff_ffff,
      volume: 0xffff_ffff,
      ohlc: { open: 1, high: 0xffff_ffff, low: 0, close: 1 },
      change: 0xffff_ffff - 1,
    },
  };
  for (const [name, tick] of Object.entries(cases)) {
    test(name, () => {
      const clean = JSON.parse(JSON.stringify(tick)) as KiteTick; // drop keys set to undefined
      expect(ticks(encodeFrame([clean]))).toStrictEqual([clean]);
    });
  }

  test("the encoder reproduces the hand-made vectors byte for byte", () => {
    for (const v of [V.NSE_LTP, V.NSE_QUOTE, V.INDEX_FULL, V.FORUM_MCX_FULL, V.FORUM_NIFTY_QUOTE, V.CDS_LTP_FINE, V.BCD_LTP_EXACT]) {
      expect(encodeFrame(ticks(v))).toEqual(v);
    }
    // NFO_FULL differs only in the padding it deliberately fills with 0xab 0xcd.
    const again = encodeFrame(ticks(V.NFO_FULL));
    const expected = V.NFO_FULL.slice();
    expected.set([0, 0], 4 + 64 + 10);
    expect(again).toEqual(expected);
  });

  test("all kinds together in one frame", () => {
    const all = Object.values(cases).map((t) => JSON.parse(JSON.stringify(t)) as KiteTick);
    const bytes = encodeFrame(all);
    expect(bytes.byteLength).toBe(2 + all.reduce((n, t) => n + 2 + encodePacket(t).byteLength, 0));
    expect(ticks(bytes)).toStrictEqual(all);
  });
});
