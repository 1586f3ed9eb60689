/**
 * The store's conformance suite: the same SQL, migrations and guarantees on every adapter
 * (embedded PGlite, real PostgreSQL).
 *
 * `open` must hand back a store on a database nobody else uses (a fresh PGlite, a fresh schema),
 * migrated with the migrations in `migrationsDir` (default: the application's own).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AlphaError } from "../../src/errors.ts";
import type { Store } from "../../src/store/index.ts";
import { sqlDb } from "../../src/store/db.ts";
import { getStrategy, listStrategies, loadBooks, loadMigrations, migrate, MIGRATIONS_DIR, saveBooks } from "../../src/store/index.ts";
import { loadRiskBooks, saveRiskBooks, type SavedRiskBook } from "../../src/store/risk-books.ts";
import { outboxConformance } from "./outbox-conformance.ts";
import { ordersConformance } from "./orders-conformance.ts";
import { riskSettingsConformance } from "./risk-settings-conformance.ts";
import { strategiesConformance } from "./strategies-conformance.ts";
import { tradesConformance } from "./trades-conformance.ts";
import { apiKeysConformance } from "./api-keys-conformance.ts";
import { kiteSessionsConformance } from "./kite-sessions-conformance.ts";
import { instrumentsConformance } from "./instruments-conformance.ts";
import { venueOrdersConformance } from "./venue-orders-conformance.ts";
import { ledgerConformance } from "./ledger-conformance.ts";
import { pingConformance } from "./ping-conformance.ts";
import { orderProjectionConformance } from "./order-projection-conformance.ts";
import { riskBooksConformance } from "./risk-books-conformance.ts";
import { webhooksConformance } from "./webhooks-conformance.ts";
import { openAlgoOrdersConformance } from "./openalgo-orders-conformance.ts";

export type OpenStore = (opts?: { migrationsDir?: string }) => Promise<Store>;

const WATCHLISTS = `create table watchlists (id text primary key, tokens bigint[] not null);
insert into watchlists values ('banks', '{341249,1270529,779521}');
`;
// Its first statements succeed; the third fails, so the first two must be rolled back with it.
const BROKEN = `create table half_done (id integer primary key);
insert into half_done values (1);
insert into no_such_table values (1);
`;
// Not idempotent on purpose: applied twice, the second `create table` would fail.
const FIXED = `create table half_done (id integer primary key);
insert into half_done values (1);
`;

async function migrationSet(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "alpha-migrations-"));
  for (const m of await loadMigrations()) await copyFile(join(MIGRATIONS_DIR, m.file), join(dir, m.file));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function versions(store: Store): Promise<number[]> {
  const rows = await store.sql<{ version: number }[]>`select version from schema_migrations order by version`;
  return rows.map((r) => r.version);
}

async function exists(store: Store, table: string): Promise<boolean> {
  const [row] = await store.sql<{ t: string | null }[]>`select to_regclass(${table})::text as t`;
  return row?.t != null;
}

function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

/** The versions of the migrations the project ships. */
const real = (await loadMigrations()).map((m) => m.version);

export function storeConformance(name: string, open: OpenStore): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    test("migrations create the tables and the seed strategies", async () => {
      expect(await versions(store)).toEqual(real);
      const all = await listStrategies(store.sql);
      expect(all.map((s) => s.id)).toEqual(["mean_reversion_bank", "momentum_fast"]);
      expect(await getStrategy(store.sql, "momentum_fast")).toMatchObject({
        kind: "momentum",
        params: { lookback: 20, threshold_bps: 15, quantity: 1 },
        instruments: [738561, 2953217, 408065],
        brokers: ["paper"],
        enabled: true,
      });
      expect(await getStrategy(store.sql, "mean_reversion_bank")).toMatchObject({
        kind: "mean_reversion",
        params: { window: 50, entry_z: 2.0, exit_z: 0.5, quantity: 1 },
        instruments: [341249, 1270529, 779521],
      });
    });

    test("running the migrations again changes nothing", async () => {
      const before = await store.sql`select version, name, applied_at from schema_migrations`;
      expect(await migrate(store.sql, await loadMigrations())).toEqual([]);
      expect(await store.sql`select version, name, applied_at from schema_migrations`).toEqual(before);
      const [row] = await store.sql<{ n: number }[]>`select count(*)::int as n from strategies`;
      expect(row?.n).toBe(2);
    });

    test("a transaction that fails part-way leaves nothing behind", async () => {
      const err = await rejection(
        store.sql.begin(async (tx) => {
          await tx`insert into strategies (id, kind) values ('doomed', 'momentum')`;
          await tx`insert into strategies (id, kind, brokers) values ('doomed_too', 'momentum', '{binance}')`;
        }),
      );
      expect((err as { code?: string }).code).toBe("23514");
      expect(await getStrategy(store.sql, "doomed")).toBeUndefined();
    });

    test("jsonb params and arrays round-trip exactly", async () => {
      const params = {
        lookback: 20,
        entry_z: -2.25,
        tiny: 0.1,
        big: 9_007_199_254_740_991,
        name: "निफ्टी ₹ 50 — 日本",
        flags: [true, false, null],
        nested: { bands: [1, 2.5, { deep: "x" }], empty: {}, none: [] },
      };
      const instruments = [738561, 4294967295, 1];
      const brokers = ["zerodha", "paper"];
      await store.sql`insert into strategies (id, kind, params, instruments, brokers)
        values ('round_trip', 'custom', ${store.sql.json(params)}, ${instruments}, ${brokers})`;
      const got = await getStrategy(store.sql, "round_trip");
      expect(got?.params).toEqual(params);
      expect(got?.instruments).toEqual(instruments);
      expect(got?.brokers).toEqual(["zerodha", "paper"]);
      expect(got?.createdAt).toBeInstanceOf(Date);
    });

    test("the strategies table refuses what the contract forbids", async () => {
      const refused = async (values: string) => {
        const err = await rejection(store.sql.unsafe(`insert into strategies (id, kind, params, instruments, brokers) values ${values}`));
        return (err as { code?: string }).code;
      };
      expect(await refused(`('a1', 'k', '[]', '{}', '{paper}')`)).toBe("23514");
      expect(await refused(`('a2', 'k', '{}', '{0}', '{paper}')`)).toBe("23514");
      expect(await refused(`('a3', 'k', '{}', '{4294967296}', '{paper}')`)).toBe("23514");
      expect(await refused(`('a4', 'k', '{}', '{}', '{}')`)).toBe("23514");
      expect(await refused(`('a5', 'k', '{}', '{}', '{paper,NULL}')`)).toBe("23514");
      expect(await refused(`('Bad-Id', 'k', '{}', '{}', '{paper}')`)).toBe("23514");
    });

    test("exec_books: the execution stage's resting orders are saved per broker and instrument, replaced whole, and an empty book removes its row", async () => {
      const db = sqlDb(store.sql);
      const order = (id: string, price: number) => ({ order: { order_id: id, side: "BUY", quantity: 1, order_type: "LIMIT", price }, status: "OPEN", filled_value: 0 });
      await saveBooks(db, "paper", [
        { token: 738561, orders: [order("o1", 100_000), order("o2", 99_995)], lineage: { o1: { correlation_id: "c1", trace_id: "t1" } } },
        { token: 2953217, orders: [order("o3", 300_000)], lineage: {} },
      ]);
      await saveBooks(db, "zerodha", [{ token: 738561, orders: [order("z1", 1)], lineage: {} }]);
      expect(await loadBooks(db, "paper")).toEqual([
        { token: 738561, orders: [order("o1", 100_000), order("o2", 99_995)], lineage: { o1: { correlation_id: "c1", trace_id: "t1" } } },
        { token: 2953217, orders: [order("o3", 300_000)], lineage: {} },
      ]);
      // One statement: a replaced book, a removed one, and a new one, together.
      await saveBooks(db, "paper", [
        { token: 738561, orders: [order("o2", 99_995)], lineage: {} },
        { token: 2953217, orders: [], lineage: {} },
        { token: 408065, orders: [order("o4", 150_000)], lineage: {} },
      ]);
      expect((await loadBooks<{ order: { order_id: string } }, unknown>(db, "paper")).map((b) => [b.token, b.orders.map((o) => o.order.order_id)])).toEqual([
        [408065, ["o4"]],
        [738561, ["o2"]],
      ]);
      // Removing a book that is not there is nothing; the other broker's is untouched.
      await saveBooks(db, "paper", [{ token: 1, orders: [], lineage: {} }]);
      expect((await loadBooks(db, "zerodha")).map((b) => b.token)).toEqual([738561]);
      // A row the contract forbids: an empty array stored directly.
      const err = await rejection(store.sql`insert into exec_books (broker, instrument_token, orders, lineage) values ('paper', 5, '[]', '{}')`);
      expect(String((err as Error).message)).toContain("check");
      await store.sql`delete from exec_books`;
    });

    test("risk_books: the risk stage's rows are saved per broker and instrument, loaded for the instruments asked for, and one that holds nothing removes its row", async () => {
      const db = sqlDb(store.sql);
      const row = (token: number, over: Partial<SavedRiskBook> = {}): SavedRiskBook => ({
        token,
        day: "2025-01-06",
        day_open: -1_500_00,
        positions: [{ strategy_id: "mom", quantity: 10 }],
        orders_today: { mom: 2 },
        recent: [1736137800000],
        fill: { partition: 3, offset: 9_007_199_254_740_000 },
        signal: null,
        clock: 1736137800123,
        day_end: {},
        ...over,
      });
      await saveRiskBooks(db, "paper", [row(738561), row(2953217, { day: null, day_open: 0, orders_today: {}, recent: [], fill: null, signal: { partition: 1, offset: 4 } })]);
      await saveRiskBooks(db, "zerodha", [row(738561)]);
      expect(await loadRiskBooks(db, "paper")).toEqual([row(738561), row(2953217, { day: null, day_open: 0, orders_today: {}, recent: [], fill: null, signal: { partition: 1, offset: 4 } })]);
      expect((await loadRiskBooks(db, "paper", (t) => t === 2953217)).map((r) => r.token)).toEqual([2953217]);
      // One statement: a replaced row and a removed one, together; the other broker's is untouched.
      await saveRiskBooks(db, "paper", [row(738561, { orders_today: { mom: 3 } }), row(2953217, { positions: [], orders_today: {}, recent: [] })]);
      expect(await loadRiskBooks(db, "paper")).toEqual([row(738561, { orders_today: { mom: 3 } })]);
      expect((await loadRiskBooks(db, "zerodha")).map((r) => r.token)).toEqual([738561]);
      const err = await rejection(store.sql`insert into risk_books (broker, instrument_token, positions) values ('paper', 5, '{}')`);
      expect(String((err as Error).message)).toContain("check");
      await store.sql`delete from risk_books`;
    });

    test("updating a strategy moves updated_at", async () => {
      const before = await getStrategy(store.sql, "momentum_fast");
      await Bun.sleep(5);
      await store.sql`update strategies set enabled = false where id = 'momentum_fast'`;
      const after = await getStrategy(store.sql, "momentum_fast");
      expect(after?.enabled).toBe(false);
      expect(after!.updatedAt.getTime()).toBeGreaterThan(before!.updatedAt.getTime());
      expect(after?.createdAt).toEqual(before!.createdAt);
      expect((await listStrategies(store.sql, { enabledOnly: true })).map((s) => s.id)).not.toContain("momentum_fast");
      await store.sql`update strategies set enabled = true where id = 'momentum_fast'`;
    });

    describe("migrations that fail, and migrations that race", () => {
      let fresh: Store;
      const dirs: string[] = [];
      beforeAll(async () => {
        fresh = await open();
      });
      afterAll(async () => {
        await fresh?.close();
        await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
      });

      test("a failing migration raises MIGRATION_FAILED naming the file; earlier ones stay, none of it does", async () => {
        const dir = await migrationSet({ "0901_watchlists.sql": WATCHLISTS, "0902_broken.sql": BROKEN });
        dirs.push(dir);
        const err = await rejection(migrate(fresh.sql, await loadMigrations(dir)));
        expect(err).toBeInstanceOf(AlphaError);
        expect(err).toMatchObject({ code: "MIGRATION_FAILED", canRetry: false });
        const message = (err as Error).message;
        expect(message).toContain("0902_broken.sql");
        expect(message).toContain("no_such_table");
        expect(message).toContain("42P01");
        expect(message).toContain("line 3");

        expect(await versions(fresh)).toEqual([...real, 901]);
        expect(await exists(fresh, "watchlists")).toBe(true);
        expect(await exists(fresh, "half_done")).toBe(false);
      });

      test("migrations run at once from several callers apply exactly once", async () => {
        const dir = await migrationSet({ "0901_watchlists.sql": WATCHLISTS, "0902_half_done.sql": FIXED });
        dirs.push(dir);
        const set = await loadMigrations(dir);
        const results = await Promise.all([1, 2, 3, 4].map(() => migrate(fresh.sql, set)));
        expect(results.flat()).toEqual([902]);
        expect(await versions(fresh)).toEqual([...real, 901, 902]);
        const [row] = await fresh.sql<{ n: number }[]>`select count(*)::int as n from half_done`;
        expect(row?.n).toBe(1);
      });

      test("an applied migration whose file was renamed is refused, not re-applied", async () => {
        const dir = await migrationSet({ "0901_renamed.sql": WATCHLISTS });
        dirs.push(dir);
        const err = await rejection(migrate(fresh.sql, await loadMigrations(dir)));
        expect(err).toMatchObject({ code: "MIGRATION_FAILED", message: expect.stringContaining('applied as "watchlists"') });
      });

      test("openStore refuses to hand out a store whose migrations failed", async () => {
        const dir = await migrationSet({ "0901_broken.sql": BROKEN });
        dirs.push(dir);
        const err = await rejection(open({ migrationsDir: dir }));
        expect(err).toMatchObject({ code: "MIGRATION_FAILED" });
        expect((err as Error).message).toContain("0901_broken.sql");
      });
    });
  });
  outboxConformance(name, () => open());
  ordersConformance(name, () => open());
  tradesConformance(name, () => open());
  strategiesConformance(name, () => open());
  riskSettingsConformance(name, () => open());
  apiKeysConformance(name, () => open());
  kiteSessionsConformance(name, () => open());
  instrumentsConformance(name, () => open());
  venueOrdersConformance(name, () => open());
  ledgerConformance(name, () => open());
  pingConformance(name, () => open());
  orderProjectionConformance(name, () => open());
  riskBooksConformance(name, () => open());
  webhooksConformance(name, () => open());
  openAlgoOrdersConformance(name, () => open());
}
