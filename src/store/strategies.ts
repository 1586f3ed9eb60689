/**
 * Reading strategy configuration (the `strategies` table of migration 0001).
 */
import type { JSONValue, Sql } from "postgres";
import type { Broker } from "../config.ts";
import { AlphaError } from "../errors.ts";
import { storeError } from "./errors.ts";

/** A configured strategy, as the strategy worker needs it. */
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

interface Row {
  id: string;
  kind: string;
  params: Strategy["params"];
  // postgres.js hands int8 over as strings, since int8 can exceed 2^53.
  instruments: string[];
  brokers: Broker[];
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

function toStrategy(r: Row): Strategy {
  const instruments = r.instruments.map(Number);
  // The table's check keeps tokens below 2^32, so this only fires if that check is dropped.
  if (!instruments.every(Number.isSafeInteger)) {
    throw new AlphaError("INTERNAL", `strategy ${r.id} has an instrument token beyond 2^53: ${r.instruments.join(",")}`);
  }
  return {
    id: r.id,
    kind: r.kind,
    params: r.params,
    instruments,
    brokers: r.brokers,
    enabled: r.enabled,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Every strategy, or only the enabled ones, ordered by id.
 *
 * @example
 * const running = await listStrategies(store.sql, { enabledOnly: true });
 */
export async function listStrategies(sql: Sql, opts: { enabledOnly?: boolean } = {}): Promise<Strategy[]> {
  try {
    const rows = await sql<Row[]>`
      select * from strategies
      where ${opts.enabledOnly ? sql`enabled` : sql`true`}
      order by id`;
    return rows.map(toStrategy);
  } catch (err) {
    throw storeError(err, "cannot list strategies");
  }
}

/**
 * One strategy by id, or undefined.
 *
 * @example
 * const s = await getStrategy(store.sql, "momentum_fast");
 */
export async function getStrategy(sql: Sql, id: string): Promise<Strategy | undefined> {
  try {
    const [row] = await sql<Row[]>`select * from strategies where id = ${id}`;
    return row && toStrategy(row);
  } catch (err) {
    throw storeError(err, `cannot read strategy ${id}`);
  }
}

/** A strategy as written: the API's shape. */
export type StrategyInput = Pick<Strategy, "id" | "kind" | "params" | "instruments" | "brokers" | "enabled">;
