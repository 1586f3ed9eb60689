/**
 * The one database call a stage needs: a parameterised statement, its rows back. Over postgres.js
 * directly (`sqlDb`), or from a worker to the main thread's embedded store over a port. Each call
 * is one statement, so one transaction: writes that must be atomic are written as one statement.
 */
import type { Sql } from "postgres";

/**
 * Seconds postgres.js waits before its next connection attempt after `retries` failed ones. Its
 * default grows to 20 s over a few failures shared by the whole pool, so after a short outage we
 * would answer again seconds after the database does; a refused connect costs nothing, so try often.
 */
export const reconnectBackoff = (retries: number): number => Math.min(0.05 * 2 ** retries, 0.5);

export interface Db {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * @example
 * const db = sqlDb(store.sql);
 * const rows = await db.query("select id from strategies where enabled = $1", [true]);
 */
export function sqlDb(sql: Sql): Db {
  return {
    async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const rows = await prepared(sql, text, params);
      // Plain objects only: rows cross thread boundaries by structured clone.
      return rows.map((r) => ({ ...r })) as T[];
    },
  };
}

/**
 * A parameterised statement through postgres.js, prepared, for statements whose texts are a
 * bounded set. `unsafe` does not prepare by default, and an unprepared statement with parameters
 * costs two round trips (Parse/Describe, then Bind/Execute) where a prepared one costs one.
 *
 * @example
 * const [row] = await prepared(store.sql, "select kind from strategies where id = $1", [id]);
 */
export function prepared(sql: Sql, text: string, params: readonly unknown[]) {
  return sql.unsafe(text, params as never[], { prepare: true });
}
