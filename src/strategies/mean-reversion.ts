/**
 * Mean reversion: the z-score of the last price against the mean and standard deviation of the
 * `window` prices before it. Below -entry_z → long, above +entry_z → short (unless
 * `allow_short: false`); back within exit_z of the mean → flat. The current price is kept out of
 * its own window, or it would pull the statistics toward itself and cap |z| below √(window-1).
 */
import { z } from "zod";
import type { Paise } from "../money.ts";
import type { Direction, StrategyKind, Target } from "./kind.ts";

/**
 * Mean reversion's params; exit_z must sit below entry_z, or it would exit as it enters.
 *
 * @example
 * meanReversionParams.parse({ window: 50, entry_z: 2, exit_z: 0.5, quantity: 1 }); // allow_short: true
 */
export const meanReversionParams = z
  .strictObject({
    window: z.number().int().min(2).max(100_000),
    entry_z: z.number().positive(),
    exit_z: z.number().nonnegative(),
    /** Units per position; rounded down to whole lots, at least one lot. */
    quantity: z.number().int().positive(),
    allow_short: z.boolean().default(true),
  })
  .superRefine((p, ctx) => {
    if (p.exit_z >= p.entry_z) ctx.addIssue({ code: "custom", path: ["exit_z"], message: `must be below entry_z (${p.entry_z}), got ${p.exit_z}` });
  });

export type MeanReversionParams = z.output<typeof meanReversionParams>;

/** The last `window` prices, oldest first. */
export interface MeanReversionModel {
  prices: readonly Paise[];
}

function zScore(prices: readonly Paise[], price: Paise): number | undefined {
  let sum = 0;
  for (const x of prices) sum += x;
  const mean = sum / prices.length;
  let sq = 0;
  for (const x of prices) sq += (x - mean) * (x - mean);
  const sd = Math.sqrt(sq / prices.length);
  // A flat window says nothing about how far is far.
  return sd === 0 ? undefined : (price - mean) / sd;
}

function targetFor(p: MeanReversionParams, score: number, position: Direction): Target | undefined {
  const why = (what: string) => `mean reversion z=${score.toFixed(2)}: ${what}`;
  if (position === 0) {
    if (score < -p.entry_z) return { direction: 1, reason: why(`below -${p.entry_z}`) };
    if (score > p.entry_z && p.allow_short) return { direction: -1, reason: why(`above ${p.entry_z}`) };
    return undefined;
  }
  if (position > 0 && score >= -p.exit_z) return { direction: 0, reason: why(`back within ${p.exit_z}`) };
  if (position < 0 && score <= p.exit_z) return { direction: 0, reason: why(`back within ${p.exit_z}`) };
  return undefined;
}

/**
 * The mean reversion kind.
 *
 * @example
 * const p = meanReversionParams.parse({ window: 4, entry_z: 1.5, exit_z: 0.5, quantity: 1 });
 * meanReversion.next(p, { prices: [100, 102, 100, 102] }, 90, 0).target?.direction; // 1
 */
export const meanReversion: StrategyKind<MeanReversionParams, MeanReversionModel> = {
  kind: "mean_reversion",
  params: meanReversionParams,
  initial: () => ({ prices: [] }),
  next(p, model, price, position) {
    const next = { prices: [...model.prices, price].slice(-p.window) };
    if (model.prices.length < p.window) return { model: next };
    const score = zScore(model.prices, price);
    return { model: next, target: score === undefined ? undefined : targetFor(p, score, position) };
  },
};
