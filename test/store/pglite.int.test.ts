/**
 * The store conformance suite on embedded PGlite (nothing to install), plus what only the
 * embedded mode has: a data directory that survives a restart.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "postgres";
import { ConfigError } from "../../src/errors.ts";
import { getStrategy, LOCK_FILE, loadMigrations, openStore } from "../../src/store/index.ts";
import { storeConformance } from "./conformance.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

storeConformance("pglite", (opts = {}) => openStore(opts));

describe("pglite store: what only the embedded mode has", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  test("the write-ahead log, which lives in memory, stays two segments after a checkpoint (Postgres's default keeps five)", async () => {
    const store = await openStore();
    try {
      await store.sql`create table wal_filler (id bigserial primary key, pad text)`;
      // ~70 MB of WAL: more than the 32 MB allowed, so checkpoints have to recycle it.
      // (md5 text does not compress, so each row writes its 1,920 bytes.)
      for (let i = 0; i < 12; i++) {
        await store.sql`insert into wal_filler (pad) select (select string_agg(md5(random()::text || g::text || k::text), '') from generate_series(1, 60) k) from generate_series(1, 3000) g`;
      }
      await store.sql`checkpoint`;
      const [wal] = await store.sql<[{ mb: number }]>`select (sum(size) / 1048576)::int as mb from pg_ls_waldir()`;
      expect(wal.mb).toBeLessThanOrEqual(32);
    } finally {
      await store.close();
    }
  }, 60_000);

  test("in memory, writing the tables writes no WAL (they are unlogged); with a data directory they stay logged", async () => {
    const walAfter = async (sql: Sql, write: () => Promise<unknown>): Promise<number> => {
      const [{ lsn }] = await sql<[{ lsn: string }]>`select pg_current_wal_lsn()::text as lsn`;
      await write();
      const [{ bytes }] = await sql<[{ bytes: string }]>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${lsn}::pg_lsn)::text as bytes`;
      return Number(bytes);
    };
    // ~1 MB of ledger rows.
    const fills = (sql: Sql) => sql`
      insert into ledger_fills (event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at)
      select gen_random_uuid(), 'paper', 'f' || g, 'o' || g, 's', 256265, 'BUY', 1, 129055, 20, now() from generate_series(1, 5000) g`;
    const tables = (sql: Sql) => sql<{ relpersistence: string }[]>`
      select relpersistence from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = current_schema() and relkind = 'r'`;

    const memory = await openStore();
    try {
      expect((await tables(memory.sql)).map((t) => t.relpersistence)).not.toContain("p");
      expect(await walAfter(memory.sql, () => fills(memory.sql))).toBeLessThan(10_000);
      // Still a working table: the rows are there, and the sequence counted them.
      const [{ n, seq }] = await memory.sql<[{ n: number; seq: string }]>`select count(*)::int as n, max(seq)::text as seq from ledger_fills`;
      expect([n, seq]).toEqual([5_000, "5000"]);
    } finally {
      await memory.close();
    }

    const dataDir = await mkdtemp(join(tmpdir(), "alpha-pglite-"));
    dirs.push(dataDir);
    const durable = await openStore({ dataDir });
    try {
      expect((await tables(durable.sql)).map((t) => t.relpersistence)).not.toContain("u");
      expect(await walAfter(durable.sql, () => fills(durable.sql))).toBeGreaterThan(500_000);
    } finally {
      await durable.close();
    }
  }, 60_000);

  test("a data directory keeps the data and the applied migrations across a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "alpha-pglite-"));
    dirs.push(dataDir);
    const first = await openStore({ dataDir });
    expect(first.kind).toBe("pglite");
    await first.sql`update strategies set params = params || '{"lookback": 30}' where id = 'momentum_fast'`;
    await first.close();

    const second = await openStore({ dataDir });
    try {
      const rows = await second.sql`select version, name from schema_migrations order by version`;
      expect(rows.map((r) => ({ ...r }))).toEqual((await loadMigrations()).map((m) => ({ version: m.version, name: m.name })));
      expect((await getStrategy(second.sql, "momentum_fast"))?.params).toEqual({ lookback: 30, threshold_bps: 15, quantity: 1 });
    } finally {
      await second.close();
    }
  });

  test("a data directory is open to one process at a time: a second open is refused naming the holder; a stale lock (its process gone) is taken over", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "alpha-pglite-"));
    dirs.push(dataDir);
    const first = await openStore({ dataDir });
    try {
      const err = await openStore({ dataDir }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`DATA_DIR: ${dataDir} is in use by another process (pid ${process.pid}`);
      // The refused open changed nothing: the first store still works.
      const [row] = await first.sql<[{ n: number }]>`select count(*)::int as n from strategies`;
      expect(row.n).toBe(2);
    } finally {
      await first.close();
    }
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    // A lock left by a process that died (kill -9 leaves it): the pid of one that has exited.
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    await writeFile(join(dataDir, LOCK_FILE), `${gone.pid}\n`);
    const again = await openStore({ dataDir });
    try {
      expect((await readFile(join(dataDir, LOCK_FILE), "utf8")).trim()).toMatch(new RegExp(`^${process.pid} \\d+$`));
    } finally {
      await again.close();
    }

    // A live pid that is not the lock's process (the pid was used again, after a reboot say): its
    // start time differs from the one the lock recorded, so the lock is stale.
    await writeFile(join(dataDir, LOCK_FILE), `${process.pid} 1\n`);
    const reused = await openStore({ dataDir });
    await reused.close();
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  test("close is idempotent", async () => {
    const store = await openStore();
    await Promise.all([store.close(), store.close()]);
    await store.close();
  });
});
