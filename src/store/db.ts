/**
 * The one database call a stage needs: a parameterised statement, its rows back. Over postgres.js
 * directly (`sqlDb`), or from a worker to the main thread's embedded store over a port. Each call
 * is one statement, so one transaction: writes that must be atomic are written as one statement.
 */
import type { Sql } from "postgres";

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
      // Prepared: the statements are a fixed set, and an unprepared one with parameters costs
      // postgres.js two round trips (Parse/Describe, then Bind/Execute) where this costs one.
      const rows = await sql.unsafe(text, params as never[], { prepare: true });
      // Plain objects only: rows cross thread boundaries by structured clone.
      return rows.map((r) => ({ ...r })) as T[];
    },
  };
}
