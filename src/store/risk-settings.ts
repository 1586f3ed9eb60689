/**
 * A broker's risk settings as the API reads them: its trading state (`trading_state`) and its
 * limits (`risk_limits`), the projection of its control topic (src/store/controls.ts writes them).
 */
import type { Sql } from "postgres";
import type { Broker } from "../config.ts";
import type { TradingState } from "../risk/state.ts";
import { prepared } from "./db.ts";

/** What the tables hold for a broker; `limits` only those set (the defaults fill the rest). */
export interface StoredRiskSettings {
  state: TradingState;
  reason?: string;
  limits: Record<string, number>;
  /** The later of the two rows' changes, as an ISO string. */
  updated_at?: string;
}

/**
 * The broker's trading state and limits, or undefined when it has no trading_state row.
 *
 * @example
 * const settings = await readRiskSettings(store.sql, "paper"); // { state: "ACTIVE", limits: { … } }
 */
export async function readRiskSettings(sql: Sql, broker: Broker): Promise<StoredRiskSettings | undefined> {
  const [row] = await prepared(
    sql,
    `select t.state, t.reason, l.limits, greatest(t.updated_at, l.updated_at) as updated_at
       from trading_state t left join risk_limits l using (broker) where t.broker = $1`,
    [broker],
  );
  if (!row) return undefined;
  return {
    state: row.state as TradingState,
    reason: (row.reason as string | null) ?? undefined,
    limits: (row.limits as Record<string, number> | null) ?? {},
    updated_at: row.updated_at ? new Date(row.updated_at as string).toISOString() : undefined,
  };
}
