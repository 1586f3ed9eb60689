/**
 * The database calls a stage needs: a parameterised statement, its rows back, and a transaction
 * for writes that must read what they change. Over postgres.js (`sqlDb`), to a real server or to
 * the embedded one (PGlite, over a port or its socket). Each `query` is one statement, so one
 * transaction.
 */
import type { Sql, TransactionSql } from "postgres";

/**
 * Seconds postgres.js waits before its next connection attempt after `retries` failed ones. Its
 * default grows to 20 s over a few failures shared by the whole pool, so after a short outage the
 * database answered again seconds before we did; a refused connect costs nothing, so try often.
 */
export const reconnectBackoff = (retries: number): number => Math.min(0.05 * 2 ** retries, 0.5);

export interface Db {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * `work`'s statements in one transaction: committed when it resolves, rolled back when it
   * throws. Use only `tx` inside (the embedded database has one session: a statement on the outer
   * handle would wait for the transaction that waits for it). Inside a transaction, the same one.
   */
  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T>;
}

/**
 * @example
 * const db = sqlDb(store.sql);
 * const rows = await db.query("select id from strategies where enabled = $1", [true]);
 */
export function sqlDb(sql: Sql): Db {
  return {
    query: (text, params) => plainRows(sql, text, params),
    transaction: <T>(work: (tx: Db) => Promise<T>) =>
      sql.begin((tx) => {
        const inside: Db = { query: (text, params) => plainRows(tx, text, params), transaction: (more) => more(inside) };
        return work(inside);
      }) as Promise<T>,
  };
}

async function plainRows<T>(sql: Sql | TransactionSql, text: string, params: readonly unknown[] = []): Promise<T[]> {
  const rows = await prepared(sql, text, params);
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
export function prepared(sql: Sql | TransactionSql, text: string, params: readonly unknown[]) {
  return sql.unsafe(text, params as never[], { prepare: true });
}
