/**
 * Momentum: compare the last price with the price `lookback` ticks ago. Up by more than
 * `threshold_bps` → long; down by more than that → flat (or short, with `allow_short`). Inside the
 * band the position is held, which is what keeps it from trading on every tick.
 */
import { z } from "zod";
import type { Paise } from "../money.ts";
import type { StrategyKind } from "./kind.ts";

/**
 * Momentum's params; unknown keys are refused (a typo would otherwise be silently ignored).
 *
 * @example
 * momentumParams.parse({ lookback: 20, threshold_bps: 15, quantity: 1 }); // allow_short: false
 */
export const momentumParams = z.strictObject({
  lookback: z.number().int().min(1).max(100_000),
  threshold_bps: z.number().positive().max(10_000),
  /** Units per position; rounded down to whole lots, at least one lot. */
  quantity: z.number().int().positive(),
  allow_short: z.boolean().default(false),
});

export type MomentumParams = z.output<typeof momentumParams>;

/** The last `lookback + 1` prices, oldest first. */
export interface MomentumModel {
  prices: readonly Paise[];
}

/**
 * The momentum kind.
 *
 * @example
 * const p = momentumParams.parse({ lookback: 2, threshold_bps: 10, quantity: 1 });
 * momentum.next(p, { prices: [100, 101] }, 110, 0).target; // { direction: 1, reason: "…" }
 */
export const momentum: StrategyKind<MomentumParams, MomentumModel> = {
  kind: "momentum",
  params: momentumParams,
  initial: () => ({ prices: [] }),
  next(p, model, price) {
    const prices = [...model.prices, price].slice(-(p.lookback + 1));
    const past = prices[0];
    if (prices.length <= p.lookback || past === undefined) return { model: { prices } };
    // A ratio for the decision only; no money is computed from it.
    const bps = ((price - past) * 10_000) / past;
    const why = `momentum ${bps.toFixed(1)} bps over ${p.lookback} ticks`;
    if (bps > p.threshold_bps) return { model: { prices }, target: { direction: 1, reason: why } };
    if (bps < -p.threshold_bps) return { model: { prices }, target: { direction: p.allow_short ? -1 : 0, reason: why } };
    return { model: { prices } };
  },
};
