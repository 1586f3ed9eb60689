/**
 * The `risk_limits` table (migration 0002): one row per broker, the full set of limits as JSON.
 */
import type { Broker } from "../config.ts";
import type { RiskLimits } from "../risk/limits.ts";
import type { Db } from "./db.ts";

/**
 * Sets a broker's limits (the full, validated set).
 *
 * @example
 * await putRiskLimits(db, "paper", parseLimits({ max_order_quantity: 10 }));
 */
export async function putRiskLimits(db: Db, broker: Broker, limits: RiskLimits): Promise<void> {
  await db.query(
    `insert into risk_limits (broker, limits) values ($1, $2::jsonb) on conflict (broker) do update set limits = excluded.limits, updated_at = now()`,
    [broker, limits as never],
  );
}
