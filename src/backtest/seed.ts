/**
 * How a backtest's strategies and limits reach the stages: the way the live ones get them, as
 * commands on each broker's control topic (src/control), written to the backtest's log before the
 * stages are built (a stage built over a control topic applies what it holds first).
 */
import type { Sql } from "postgres";
import type { Broker } from "../config.ts";
import { sendControl, type StrategyDef } from "../control/index.ts";
import type { Producer } from "../log/port.ts";
import { DEFAULT_LIMITS, parseLimits, type RiskLimits } from "../risk/limits.ts";
import { controlSeeds } from "../store/controls.ts";

export interface Controls {
  /** The strategies to trade; undefined: those a fresh gateway starts with (the migrations' seeds). */
  strategies?: readonly StrategyDef[];
  /** The full, validated limits; undefined: the defaults. */
  limits?: RiskLimits;
}

/**
 * Writes the controls for `brokers` to their control topics, and returns the strategies that
 * trade (enabled), for the report.
 *
 * @example
 * await seedControls(store.sql, producer, ["paper"], { limits: parseLimits({ max_order_quantity: 10 }) });
 */
export async function seedControls(sql: Sql, producer: Producer, brokers: readonly Broker[], controls: Controls): Promise<StrategyDef[]> {
  const trading = new Map<string, StrategyDef>();
  for (const b of brokers) {
    const seeds = await controlSeeds(sql, b);
    const limits = controls.limits ?? (seeds.limits ? parseLimits(seeds.limits) : DEFAULT_LIMITS);
    await sendControl(producer, b, { type: "control.limits", data: { limits } }, "backtest");
    for (const s of controls.strategies ?? seeds.strategies) {
      if (!s.brokers.includes(b)) continue;
      await sendControl(producer, b, { type: "control.strategy", data: { ...s, instruments: [...s.instruments], brokers: [...s.brokers] } }, "backtest");
      if (s.enabled) trading.set(s.id, s);
    }
  }
  return [...trading.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
