/**
 * The database calls a stage needs: a parameterised statement, its rows back, and a transaction
 * for writes that must read what they change, over postgres.js (`sqlDb`); and a worker's own
 * client (`openDb`), to the embedded store's thread over a port or to a server. Each `query` is
 * one statement, so one transaction.
 */
import postgres, { type Sql, type TransactionSql } from "postgres";
import { overPort } from "./pglite-port.ts";
import type { EmbeddedOptions } from "./pglite.ts";

/**
 * Seconds postgres.js waits before its next connection attempt after `retries` failed ones. Its
 * default grows to 20 s over a few failures shared by the whole pool, so after a short outage we
 * would answer again seconds after the database does; a refused connect costs nothing, so try often.
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
