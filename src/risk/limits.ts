/**
 * Risk limits of one broker: validated once where they come in (config, the REST API), every
 * problem listed at once. A limit of 0 means what it says (nothing passes); set a large number to
 * loosen one.
 */
import { z } from "zod";
import { AlphaError, type Problem } from "../errors.ts";
import { toPaise, toRupees } from "../money.ts";
import { problemsOf } from "./problems.ts";

const count = z.number("must be a number").int("must be a whole number").min(0, "must not be negative");
const paise = z
  .number("must be a number of paise")
  .int("must be whole paise")
  .min(0, "must not be negative")
  .max(Number.MAX_SAFE_INTEGER, "is too large");
const fraction = z.number("must be a number").min(0, "must be a fraction from 0 to 1").max(1, "must be a fraction from 0 to 1");

/**
 * Every limit, all required; {@link parseLimits} fills gaps from a base. Unknown keys are refused.
 *
 * @example
 * riskLimitsSchema.safeParse({ ...DEFAULT_LIMITS, price_band_fraction: 1.5 }).success; // false
 */
export const riskLimitsSchema = z.strictObject({
  /** Units per order. */
  max_order_quantity: count,
  /** Paise per order: quantity × price. */
  max_order_notional: paise,
  /** Units, net, per instrument, across strategies. */
  max_position_quantity: count,
  /** Validated orders per strategy per IST day. */
  max_orders_per_strategy_per_day: count,
  /** How far (0.05 = 5%) an order's price may sit from the last tick. */
  price_band_fraction: fraction,
  /** Paise: the day's realised + unrealised P&L below minus this halts trading. */
  max_daily_loss: paise,
  /** Validated orders per broker in any one-second window. */
  max_orders_per_second: count,
});

export type RiskLimits = z.output<typeof riskLimitsSchema>;

/** Conservative defaults for a paper account; Kite allows 10 orders a second. */
export const DEFAULT_LIMITS: RiskLimits = Object.freeze({
  max_order_quantity: 1_000,
  max_order_notional: 10_00_000_00, // ₹10,00,000
  max_position_quantity: 5_000,
  max_orders_per_strategy_per_day: 500,
  price_band_fraction: 0.05,
  max_daily_loss: 50_000_00, // ₹50,000
  max_orders_per_second: 10,
});

/**
 * Limits that cannot be used, with every problem.
 *
 * @example
 * throw new RiskLimitsError([{ path: "price_band_fraction", message: "must be a fraction from 0 to 1, got 1.5" }]);
 */
export class RiskLimitsError extends AlphaError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(
      "PAYLOAD_INVALID",
      `invalid risk limits (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
      { details: problems },
    );
    this.name = "RiskLimitsError";
    this.problems = problems;
  }
}

/**
 * Validates limits; a partial object changes only the limits it names, over `base`.
 * Throws a {@link RiskLimitsError} naming every bad field.
 *
 * @example
 * const limits = parseLimits({ max_daily_loss: 25_000_00 }); // the rest from DEFAULT_LIMITS
 */
export function parseLimits(input: unknown, base: RiskLimits = DEFAULT_LIMITS): RiskLimits {
  const merged = typeof input === "object" && input !== null && !Array.isArray(input) ? { ...base, ...input } : input;
  const parsed = riskLimitsSchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) throw new RiskLimitsError(problemsOf(parsed.error.issues));
  return parsed.data;
}

/** Limits that are money: paise inside, decimal strings at the edge. */
export const MONEY_LIMITS: ReadonlySet<string> = new Set(["max_order_notional", "max_daily_loss"]);

/**
 * Limits as the API shows them: money as decimal rupee strings, counts and fractions as numbers.
 *
 * @example
 * limitsAtEdge(DEFAULT_LIMITS).max_daily_loss; // "50000.00"
 */
export function limitsAtEdge(limits: Readonly<Record<string, number>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(limits)) out[k] = MONEY_LIMITS.has(k) ? toRupees(v) : v;
  return out;
}

/**
 * Limits written as the API takes them (money as decimal rupee strings) in paise, over `base`,
 * validated; a {@link RiskLimitsError} names every bad field.
 *
 * @example
 * parseLimitsAtEdge({ max_daily_loss: "25000.00" }).max_daily_loss; // 25_000_00
 */
export function parseLimitsAtEdge(input: Record<string, unknown>, base: RiskLimits = DEFAULT_LIMITS): RiskLimits {
  const problems: Problem[] = [];
  const inPaise: Record<string, unknown> = { ...input };
  for (const k of MONEY_LIMITS) {
    if (!(k in input)) continue;
    const v = input[k];
    try {
      if (typeof v !== "string") throw new Error();
      inPaise[k] = toPaise(v);
    } catch {
      problems.push({ path: k, message: `must be rupees as a decimal string with at most 2 decimals (e.g. "50000.00"), got ${JSON.stringify(v)}` });
      delete inPaise[k];
    }
  }
  try {
    const limits = parseLimits(inPaise, base);
    if (problems.length === 0) return limits;
  } catch (err) {
    if (!(err instanceof RiskLimitsError)) throw err;
    problems.push(...err.problems);
  }
  throw new RiskLimitsError(problems);
}
