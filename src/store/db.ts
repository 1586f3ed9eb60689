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
      const rows = await sql.unsafe(text, params as never[]);
      // Plain objects only: rows cross thread boundaries by structured clone.
      return rows.map((r) => ({ ...r })) as T[];
    },
  };
}
