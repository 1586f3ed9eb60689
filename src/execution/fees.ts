/**
 * Charges on one execution, every component in integer paise.
 *
 * Rounding, stated once: each component is `value × rate / 1e8` rounded half up to the paisa;
 * brokerage is then capped; GST is 18% of the *rounded* brokerage + exchange + SEBI components,
 * itself rounded half up; the total is the sum of the rounded components.
 */
import type { Paise } from "../money.ts";
import { DEFAULT_FEE_SCHEDULE, RATE_SCALE, type FeeSchedule } from "./config.ts";
import { assertSafe, roundHalfUp, toSafe } from "../intmath.ts";
import type { Side } from "../orders/vocabulary.ts";

export type { Side };

/** The charges on one execution, integer paise. */
export interface Fees {
  brokerage: Paise;
  stt: Paise;
  exchange: Paise;
  sebi: Paise;
  stamp: Paise;
  gst: Paise;
  total: Paise;
}

const SCALE = BigInt(RATE_SCALE);
const charge = (turnover: bigint, rate: number): bigint => roundHalfUp(turnover * BigInt(rate), SCALE);

/**
 * Charges on a traded value (Σ quantity × price, paise) on one side of one order. Every component
 * is proportional to value, so an order's charges depend only on its cumulative turnover: the
 * exchange charges each partial fill the difference, and the brokerage cap applies per order.
 *
 * @example
 * feesOnTurnover("BUY", 1_290_450).total; // 542 (10 × ₹1290.45, see the tests for the sum)
 */
export function feesOnTurnover(side: Side, turnover: Paise, schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE): Fees {
  assertSafe(turnover, "turnover");
  if (turnover < 0) throw new RangeError(`turnover must be non-negative, got ${turnover}`);
  const t = BigInt(turnover);
  const uncapped = charge(t, schedule.brokerage_rate);
  const cap = BigInt(schedule.brokerage_cap);
  const brokerage = uncapped < cap ? uncapped : cap;
  const stt = charge(t, side === "BUY" ? schedule.stt_buy_rate : schedule.stt_sell_rate);
  const exchange = charge(t, schedule.exchange_rate);
  const sebi = charge(t, schedule.sebi_rate);
  const stamp = charge(t, side === "BUY" ? schedule.stamp_buy_rate : schedule.stamp_sell_rate);
  const gst = charge(brokerage + exchange + sebi, schedule.gst_rate);
  const total = brokerage + stt + exchange + sebi + stamp + gst;
  return {
    brokerage: toSafe(brokerage, "brokerage"),
    stt: toSafe(stt, "stt"),
    exchange: toSafe(exchange, "exchange"),
    sebi: toSafe(sebi, "sebi"),
    stamp: toSafe(stamp, "stamp"),
    gst: toSafe(gst, "gst"),
    total: toSafe(total, "total fees"),
  };
}

/**
 * Charges on one whole execution of `quantity` at `price` (paise).
 *
 * @example
 * fees("SELL", 412_005, 100).brokerage; // 2000: 0.03% would be ₹123.60, capped at ₹20
 */
export function fees(side: Side, price: Paise, quantity: number, schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE): Fees {
  return feesOnTurnover(side, toSafe(BigInt(assertSafe(price, "price")) * BigInt(assertSafe(quantity, "quantity")), "turnover"), schedule);
}
