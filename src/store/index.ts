/**
 * The store: PostgreSQL for configuration and the durable ledger. One postgres.js client and one
 * set of SQL for both modes: a real server (DATABASE_URL), or PGlite embedded in this process.
 */
import { redactUrl } from "../logger.ts";
import postgres from "postgres";
import type { Sql } from "postgres";
import { reconnectBackoff } from "./db.ts";
import { loadMigrations, migrate } from "./migrate.ts";
import { lockDataDir, pgDir } from "./data-dir.ts";
import { startEmbedded, type EmbeddedOptions } from "./pglite.ts";
import type { ThreadMemory } from "../thread-memory.ts";

export { loadMigrations, migrate, MIGRATIONS_DIR } from "./migrate.ts";
export type { Migration } from "./migrate.ts";
export { getStrategy, listStrategies } from "./strategies.ts";
export type { Strategy } from "./strategies.ts";
export type { EmbeddedOptions } from "./pglite.ts";
export { LOCK_FILE, lockDataDir } from "./data-dir.ts";
export { loadBooks, saveBooks } from "./exec-books.ts";
export type { SavedBook } from "./exec-books.ts";

/**
 * Where the database is. Nothing set means embedded, in memory.
 *
 * @example
 * const opts: StoreOptions = { dataDir: "/srv/alpha/.alpha-panda" }; // embedded, kept across restarts
 */
export interface StoreOptions {
  /** A real PostgreSQL; without it PGlite is embedded. */
  databaseUrl?: string;
  /**
   * Embedded only: the data directory (DATA_DIR), made if missing and locked while open (a
   * second process gets a ConfigError); PGlite keeps its files in its `pg/`. Default: in memory,
   * gone on close.
   */
  dataDir?: string;
  /** Where the migrations are read from (default: src/store/migrations). */
  migrationsDir?: string;
  /** Real server only: connections in the pool (default 10). Embedded is always 1. */
  maxConnections?: number;
}

/**
 * An open, migrated database.
 *
 * Inside `sql.begin(async (tx) => ...)` use `tx`, never `sql`: embedded mode has one connection,
 * so a query on `sql` would wait for the transaction that waits for it.
 *
 * @example
 * const [row] = await store.sql`select count(*)::int as n from strategies`;
 */
export interface Store {
  readonly sql: Sql;
  readonly kind: "postgres" | "pglite";
  /** Where the database is, password hidden: for logs and /health. */
  readonly url: string;
  /** Embedded only: the postgres.js options for another client of the same database (a stage
   *  worker's): plain data, so it can be posted to a thread. */
  readonly embeddedOptions?: EmbeddedOptions;
  /** Embedded only: a new port for another thread's connections to the same database, with
   *  `embeddedOptions` (src/store/pglite-port.ts). */
  readonly embeddedConnector?: () => MessagePort;
  /** Embedded only: the heap of the database's thread, WebAssembly memory included. */
  readonly embeddedMemory?: () => Promise<ThreadMemory>;
  /** Resolves once the database answers a trivial statement: for readiness checks. */
  ping(): Promise<void>;
  /** Ends the client (waiting up to 5 s for queries in flight), then stops PGlite if embedded. */
  close(): Promise<void>;
}


/**
 * Connects to the database and brings its schema up to date. Rejects with MIGRATION_FAILED if a
 * migration fails, or STORE_UNAVAILABLE (retryable) if the server cannot be reached; either way
 * nothing is left open.
 *
 * @example
 * const store = await openStore({ databaseUrl: process.env.DATABASE_URL });
 * const rows = await store.sql`select id from strategies where enabled`;
 * await store.close();
 */
export async function openStore(opts: StoreOptions = {}): Promise<Store> {
  const migrations = await loadMigrations(opts.migrationsDir);
  const onDisk = opts.databaseUrl === undefined && opts.dataDir !== undefined;
  const unlock = onDisk ? lockDataDir(opts.dataDir!) : () => {};
  let embedded: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  try {
    embedded = opts.databaseUrl === undefined ? await startEmbedded(onDisk ? pgDir(opts.dataDir!) : undefined) : undefined;
  } catch (err) {
    unlock();
    throw err;
  }
  const common = { onnotice: () => {}, connect_timeout: 10, backoff: reconnectBackoff };
  const sql = embedded
    ? postgres({ ...embedded.options, ...common })
    : postgres(opts.databaseUrl!, { ...common, max: opts.maxConnections ?? 10 });

  let closed: Promise<void> | undefined;
  const store: Store = {
    sql,
    kind: embedded ? "pglite" : "postgres",
    url: embedded ? embedded.url : redactUrl(opts.databaseUrl!, "database"),
    embeddedOptions: embedded?.options,
    embeddedConnector: embedded ? () => embedded.connector() : undefined,
    embeddedMemory: embedded ? () => embedded.memory() : undefined,
    async ping() {
      await sql`select 1`;
    },
    close() {
      closed ??= (async () => {
        await sql.end({ timeout: 5 });
        await embedded?.stop();
        unlock();
      })();
      return closed;
    },
  };
  try {
    await migrate(sql, migrations);
    if (embedded && opts.dataDir === undefined) await skipWal(sql);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * In memory, the embedded database's write-ahead log protects nothing (the data dies with the
 * process whatever it holds) and costs memory, a segment at a time for as long as it trades. The tables are made UNLOGGED (their sequences with them) after each start's
 * migrations, so writing them writes no WAL. With a data directory they stay logged: durable.
 */
async function skipWal(sql: Sql): Promise<void> {
  const logged = await sql<{ name: string }[]>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind = 'r' and c.relpersistence = 'p'`;
  for (const { name } of logged) await sql`alter table ${sql(name)} set unlogged`;
}
