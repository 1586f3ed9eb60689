/**
 * How a backtest's strategies and limits reach the stages: the way the live ones get them. For
 * now that is the store (the strategies and risk_limits tables, read by the stages when they are
 * built); once controls are commands on `{broker}.control`, this becomes `sendControl` of each
 * to the backtest's log before the stages are built, and nothing else changes.
 */
import type { Broker } from "../config.ts";
import type { RiskLimits } from "../risk/limits.ts";
import type { Db } from "../store/db.ts";
import { putRiskLimits } from "../store/risk-limits.ts";
import { replaceStrategies, type StrategyInput } from "../store/strategies.ts";

export interface Controls {
  /** Replace the seeded strategies with these; undefined keeps the migrations' seeds. */
  strategies?: readonly StrategyInput[];
  /** The full, validated limits; undefined keeps the defaults. */
  limits?: RiskLimits;
}

/**
 * Writes the controls for `brokers`, before the stages are built.
 *
 * @example
 * await seedControls(db, ["paper"], { limits: parseLimits({ max_order_quantity: 10 }) });
 */
export async function seedControls(db: Db, brokers: readonly Broker[], controls: Controls): Promise<void> {
  if (controls.strategies) await replaceStrategies(db, controls.strategies);
  if (controls.limits) for (const b of brokers) await putRiskLimits(db, b, controls.limits);
}
