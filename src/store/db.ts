/**
 * The one database call a stage needs: a parameterised statement, its rows back, over postgres.js
 * (`sqlDb`); and a worker's own client (`openDb`), to the embedded store's thread over a port or
 * to a server. Each call is one statement, so one transaction: writes that must be atomic are
 * written as one statement.
 */
import postgres, { type Sql } from "postgres";
import { overPort } from "./pglite-port.ts";
import type { EmbeddedOptions } from "./pglite.ts";

/**
 * Seconds postgres.js waits before its next connection attempt after `retries` failed ones. Its
 * default grows to 20 s over a few failures shared by the whole pool, so after a short outage we
 * would answer again seconds after the database does; a refused connect costs nothing, so try often.
 */
export const reconnectBackoff = (retries: number): number => Math.min(0.05 * 2 ** retries, 0.5);

export interface QueryOptions {
  /**
   * Plan the statement with this call's values every time rather than from a cached plan: for a
   * lookup in a table that grows from empty. A cached plan made while the table was small keeps
   * reading it whole as it grows (PGlite never runs autovacuum's analyze, which would replan it).
   */
  planEachTime?: boolean;
}

export interface Db {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<T[]>;
}

/**
 * @example
 * const db = sqlDb(store.sql);
 * const rows = await db.query("select id from strategies where enabled = $1", [true]);
 */
export function sqlDb(sql: Sql): Db {
  return { query: (text, params, options) => plainRows(sql, text, params, options) };
}

async function plainRows<T>(sql: Sql, text: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<T[]> {
  const rows = await prepared(sql, text, params, options);
  // Plain objects only: rows cross thread boundaries by structured clone.
  return rows.map((r) => ({ ...r })) as T[];
}

/**
 * A parameterised statement through postgres.js, prepared, for statements whose texts are a
 * bounded set. `unsafe` does not prepare by default, and an unprepared statement with parameters
 * costs two round trips (Parse/Describe, then Bind/Execute) where a prepared one costs one.
 *
 * @example
 * const [row] = await prepared(store.sql, "select kind from strategies where id = $1", [id]);
 */
export function prepared(sql: Sql, text: string, params: readonly unknown[], options: QueryOptions = {}) {
  return sql.unsafe(text, params as never[], { prepare: !options.planEachTime });
}

/** Where a worker's own client connects: embedded PGlite (over `port` to its thread when given, else its loopback socket), or a server. */
export interface DbTarget {
  embedded?: EmbeddedOptions;
  port?: MessagePort;
  databaseUrl?: string;
}

/**
 * A worker's own client of the database, embedded PGlite's when its options are given, else the
 * server at `databaseUrl`; undefined when there is neither.
 *
 * @example
 * const opened = openDb({ databaseUrl: config.databaseUrl });
 * const rows = await opened!.db.query("select id from strategies");
 * await opened!.close();
 */
export function openDb(target: DbTarget): { db: Db; close(): Promise<void> } | undefined {
  if (!target.embedded && !target.databaseUrl) return undefined;
  const sql = target.embedded
    ? postgres({ ...target.embedded, onnotice: () => {}, ...(target.port ? overPort(target.port) : {}) })
    : postgres(target.databaseUrl!, { max: 4, onnotice: () => {}, backoff: reconnectBackoff });
  return { db: sqlDb(sql), close: () => sql.end({ timeout: 5 }) };
}
