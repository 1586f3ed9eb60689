/**
 * The projection of the control topics (src/control) onto trading_state, risk_limits and
 * strategies (migrations 0002, 0001, 0010), and the rows an empty control topic is seeded from.
 * Every write is conditional on the command's offset being newer than the row's, so several
 * gateways projecting the same topic agree whatever order they write in.
 */
import type { Sql } from "postgres";
import type { Broker } from "../config.ts";
import type { StrategyDef } from "../control/commands.ts";
import type { RiskLimits } from "../risk/limits.ts";
import type { TradingState } from "../risk/state.ts";
import { prepared } from "./db.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** The trading state as of the command at `offset`, sent at `at` (ms). */
export async function projectTradingState(sql: Sql, broker: Broker, state: TradingState, reason: string, offset: number, at: number): Promise<void> {
  await prepared(
    sql,
    `insert into trading_state (broker, state, reason, control_offset, updated_at) values ($1, $2, $3, $4, $5::timestamptz)
     on conflict (broker) do update set state = excluded.state, reason = excluded.reason, control_offset = excluded.control_offset, updated_at = excluded.updated_at
      where trading_state.control_offset is null or trading_state.control_offset < excluded.control_offset`,
    [broker, state, reason === "" ? null : reason, offset, iso(at)],
  );
}

/** The limits as of the command at `offset`. */
export async function projectLimits(sql: Sql, broker: Broker, limits: RiskLimits, offset: number, at: number): Promise<void> {
  await prepared(
    sql,
    `insert into risk_limits (broker, limits, control_offset, updated_at) values ($1, $2::jsonb, $3, $4::timestamptz)
     on conflict (broker) do update set limits = excluded.limits, control_offset = excluded.control_offset, updated_at = excluded.updated_at
      where risk_limits.control_offset is null or risk_limits.control_offset < excluded.control_offset`,
    [broker, limits as never, offset, iso(at)],
  );
}

/** A strategy's definition as of the command at `offset` on `broker`'s control topic. */
export async function projectStrategy(sql: Sql, broker: Broker, def: StrategyDef, offset: number): Promise<void> {
  await prepared(
    sql,
    `insert into strategies (id, kind, params, instruments, brokers, enabled, control_offsets)
     values ($1, $2, $3::jsonb, $4::bigint[], $5::text[], $6, jsonb_build_object($7::text, $8::bigint))
     on conflict (id) do update set kind = excluded.kind, params = excluded.params, instruments = excluded.instruments, brokers = excluded.brokers,
            enabled = excluded.enabled, control_offsets = strategies.control_offsets || excluded.control_offsets
      where coalesce((strategies.control_offsets ->> $7::text)::bigint, -1) < $8::bigint`,
    [def.id, def.kind, def.params as never, def.instruments, def.brokers, def.enabled, broker, offset],
  );
}

/** What an empty control topic of `broker` is seeded with: the rows as they are (the migrations' seeds, a user's settings). */
export async function controlSeeds(sql: Sql, broker: Broker): Promise<{
  trading: { state: TradingState; reason: string | null } | undefined;
  limits: Record<string, unknown> | undefined;
  strategies: StrategyDef[];
}> {
  const [t] = await prepared(sql, `select state, reason from trading_state where broker = $1`, [broker]);
  const [l] = await prepared(sql, `select limits from risk_limits where broker = $1`, [broker]);
  const rows = await prepared(sql, `select id, kind, params, instruments::text[] as instruments, brokers, enabled from strategies where $1 = any(brokers) order by id`, [broker]);
  return {
    trading: t ? { state: t.state as TradingState, reason: (t.reason as string | null) ?? null } : undefined,
    limits: (l?.limits as Record<string, unknown> | undefined) ?? undefined,
    strategies: rows.map(strategyDefOf),
  };
}

/** A row of the strategies table (instruments selected as text[]: int8 exceeds 2^53) as a definition. */
export function strategyDefOf(r: Record<string, unknown>): StrategyDef {
  return {
    id: String(r.id),
    kind: String(r.kind),
    params: r.params as Record<string, unknown>,
    instruments: (r.instruments as string[]).map(Number),
    brokers: r.brokers as Broker[],
    enabled: Boolean(r.enabled),
  };
}

/**
 * Forgets the offsets `broker`'s rows were projected from: its control topic is empty (a new log
 * under an old database), so its offsets start again at 0 and must count as newer.
 */
export async function forgetControlOffsets(sql: Sql, broker: Broker): Promise<void> {
  await prepared(sql, `update trading_state set control_offset = null where broker = $1`, [broker]);
  await prepared(sql, `update risk_limits set control_offset = null where broker = $1`, [broker]);
  await prepared(sql, `update strategies set control_offsets = control_offsets - $1::text where control_offsets ? $1::text`, [broker]);
}
