/**
 * Where orders trigger and at what price they fill. Prices are paise on the instrument's tick
 * grid; every rounding here goes against the trader (adverse), never in their favour.
 */
import type { Paise } from "../money.ts";
import type { Side } from "./fees.ts";
import { ceilDiv, floorDiv, toSafe } from "../intmath.ts";

const BPS = 10_000n;

/**
 * The last price moved `bps` basis points against the trader and put on the tick grid in the
 * adverse direction: up for a BUY, down for a SELL (never below one tick).
 *
 * @example
 * slippedPrice("BUY", 129_045, 2, 5); // 129_075: +25.809 paise, rounded up to the 5-paise grid
 */
export function slippedPrice(side: Side, last: Paise, bps: number, tickSize: Paise): Paise {
  const tick = BigInt(tickSize);
  if (side === "BUY") {
    const steps = ceilDiv(BigInt(last) * (BPS + BigInt(bps)), BPS * tick);
    return toSafe(steps * tick, "slipped price");
  }
  const steps = floorDiv(BigInt(last) * (BPS - BigInt(bps)), BPS * tick);
  return toSafe((steps > 0n ? steps : 1n) * tick, "slipped price");
}

/**
 * True when a stop has fired: a BUY stop when the last price is at or above the trigger, a SELL
 * stop when at or below.
 *
 * @example
 * stopTriggered("SELL", 99_00, 100_00); // true
 */
export const stopTriggered = (side: Side, last: Paise, trigger: Paise): boolean => (side === "BUY" ? last >= trigger : last <= trigger);

/**
 * True when a limit can trade against the last price: a BUY limit at or above it, a SELL limit at
 * or below it. Used both for an arriving limit and for a resting one that a tick crosses.
 *
 * @example
 * limitCrossed("BUY", 100_00, 99_95); // true
 */
export const limitCrossed = (side: Side, limit: Paise, last: Paise): boolean => (side === "BUY" ? limit >= last : limit <= last);

/**
 * The fill price of a limit that is marketable when it arrives (or when its stop fires): what a
 * market order would get, but never worse than the limit. BUY: min(limit, slipped); SELL: max.
 *
 * @example
 * marketableLimitPrice("BUY", 100_00, 99_00, 2, 5); // 99_05: the market (99_01.98 rounded up) is better
 */
export function marketableLimitPrice(side: Side, limit: Paise, last: Paise, bps: number, tickSize: Paise): Paise {
  const market = slippedPrice(side, last, bps, tickSize);
  return side === "BUY" ? Math.min(limit, market) : Math.max(limit, market);
}
