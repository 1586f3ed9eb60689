/**
 * What the Kite ticker codec produces. Prices are integers in the segment's smallest price unit:
 * paise (1/100 rupee) everywhere except the currency segments, where Kite quotes to 4 (BCD) or 7
 * (CDS) decimals. {@link KiteTick.price_divisor} says which; nothing here is a float.
 */

/** Subscription modes, smallest first. */
export const KITE_MODES = ["ltp", "quote", "full"] as const;
export type KiteMode = (typeof KITE_MODES)[number];

/** Exchange segment, the low byte of the instrument token (Kite's EXCHANGE_MAP). */
export const KITE_SEGMENTS = {
  1: "NSE",
  2: "NFO",
  3: "CDS",
  4: "BSE",
  5: "BFO",
  6: "BCD",
  7: "MCX",
  8: "MCXSX",
  9: "INDICES",
} as const;
export type KiteSegment = (typeof KITE_SEGMENTS)[keyof typeof KITE_SEGMENTS];

/** Integer price units per rupee: 100 = the price is in paise. */
export type PriceDivisor = 100 | 10_000 | 10_000_000;

/** CDS quotes to 7 decimals, BCD to 4; every other segment to the paisa. */
export function priceDivisorOf(segment: KiteSegment): PriceDivisor {
  return segment === "CDS" ? 10_000_000 : segment === "BCD" ? 10_000 : 100;
}

export interface KiteOhlc {
  open: number;
  high: number;
  low: number;
  close: number;
}

/** One level of market depth. An empty level is all zeros, as Kite sends it. */
export interface KiteDepthLevel {
  quantity: number;
  price: number;
  orders: number;
}

/** Five levels a side, best first. */
export interface KiteDepth {
  buy: KiteDepthLevel[];
  sell: KiteDepthLevel[];
}

/**
 * One decoded packet. Fields a packet does not carry are absent (never 0 or undefined in their
 * place), so `"volume" in tick` says whether the mode delivers it.
 *
 * @example
 * { instrument_token: 408065, segment: "NSE", mode: "ltp", tradable: true, price_divisor: 100, last_price: 145025 }
 */
export interface KiteTick {
  instrument_token: number;
  segment: KiteSegment;
  mode: KiteMode;
  /** False for indices: they have prices but cannot be traded. */
  tradable: boolean;
  /** Units per rupee of every price field below (last_price, average_price, ohlc, change, depth). */
  price_divisor: PriceDivisor;
  last_price: number;
  last_quantity?: number;
  average_price?: number;
  /** Cumulative volume traded today. */
  volume?: number;
  /** Total quantity waiting to buy / sell across the book. */
  buy_quantity?: number;
  sell_quantity?: number;
  ohlc?: KiteOhlc;
  /**
   * Net change from the previous close, in price units (signed; not a percentage). Index packets
   * carry it; for other quote and full packets it is last_price − close, absent when close is 0.
   */
  change?: number;
  /** ISO-8601 UTC; absent when Kite sends 0. */
  last_trade_time?: string;
  exchange_timestamp?: string;
  oi?: number;
  oi_day_high?: number;
  oi_day_low?: number;
  depth?: KiteDepth;
}

/** A binary frame: a heartbeat (0 or 1 byte), or packets. */
export type DecodedFrame = { kind: "heartbeat" } | { kind: "ticks"; ticks: KiteTick[] };
