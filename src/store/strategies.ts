/**
 * The strategies' configuration as the API reads it (the `strategies` table of migration 0001).
 * Its rows are the projection of the control topics (src/store/controls.ts writes them); the
 * strategy stage takes its definitions from the log, not from here.
 */
import type { JSONValue, Sql } from "postgres";
import type { Broker } from "../config.ts";
import { AlphaError } from "../errors.ts";
import { prepared } from "./db.ts";

/** A configured strategy. */
export interface Strategy {
  id: string;
  kind: string;
  params: { [name: string]: JSONValue };
  /** Kite instrument tokens. */
  instruments: number[];
  brokers: Broker[];
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A strategy as written: the API's shape. */
export type StrategyInput = Pick<Strategy, "id" | "kind" | "params" | "instruments" | "brokers" | "enabled">;

// Instruments as text[]: postgres.js hands int8 over as strings, since int8 can exceed 2^53.
const COLUMNS = `id, kind, params, instruments::text[] as instruments, brokers, enabled, created_at, updated_at`;

function toStrategy(row: Record<string, unknown>): Strategy {
  const tokens = row.instruments as string[];
  const instruments = tokens.map(Number);
  // The table's check keeps tokens below 2^32, so this only fires if that check is dropped.
  if (!instruments.every(Number.isSafeInteger)) {
    throw new AlphaError("INTERNAL", `strategy ${String(row.id)} has an instrument token beyond 2^53: ${tokens.join(",")}`);
  }
  return {
    id: String(row.id),
    kind: String(row.kind),
    params: row.params as Strategy["params"],
    instruments,
    brokers: row.brokers as Broker[],
    enabled: Boolean(row.enabled),
    createdAt: new Date(row.created_at as string),
    updatedAt: new Date(row.updated_at as string),
  };
}

/**
 * Every strategy, or only the enabled ones, ordered by id.
 *
 * @example
 * const running = await listStrategies(store.sql, { enabledOnly: true });
 */
export async function listStrategies(sql: Sql, opts: { enabledOnly?: boolean } = {}): Promise<Strategy[]> {
  const rows = await prepared(sql, `select ${COLUMNS} from strategies where $1::boolean is false or enabled order by id`, [opts.enabledOnly ?? false]);
  return rows.map(toStrategy);
}

/**
 * One strategy by id, or undefined.
 *
 * @example
 * const s = await getStrategy(store.sql, "momentum_fast");
 */
export async function getStrategy(sql: Sql, id: string): Promise<Strategy | undefined> {
  const [row] = await prepared(sql, `select ${COLUMNS} from strategies where id = $1`, [id]);
  return row && toStrategy(row);
}
