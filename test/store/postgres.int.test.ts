/**
 * The store conformance suite on a real PostgreSQL (DATABASE_URL, default `bun run infra:up`'s),
 * plus what only a real server has: separate processes starting at once, and being down.
 *
 * Each store gets a schema of its own (via the search_path startup parameter), so reruns start
 * clean and the database user needs no CREATEDB; every schema is dropped at the end.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { loadMigrations, openStore } from "../../src/store/index.ts";
import { infra, needs } from "../support/infra.ts";
import { storeConformance } from "./conformance.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const pgUp = await needs("postgres");
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const schemas: string[] = [];

function freshSchemaUrl(): { url: string; schema: string } {
  const schema = `test_${run}_${schemas.length}`;
  schemas.push(schema);
  const url = new URL(infra.databaseUrl);
  url.searchParams.set("search_path", schema);
  return { url: url.toString(), schema };
}

async function withAdmin<T>(f: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(infra.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    return await f(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function openFresh(opts: { migrationsDir?: string } = {}) {
  const { url, schema } = freshSchemaUrl();
  await withAdmin((sql) => sql`create schema ${sql(schema)}`);
  return openStore({ databaseUrl: url, ...opts });
}

afterAll(async () => {
  if (!pgUp || schemas.length === 0) return;
  await withAdmin(async (sql) => {
    for (const s of schemas) await sql`drop schema if exists ${sql(s)} cascade`;
  });
});

if (pgUp) storeConformance("postgres", openFresh);

// Skipped only when the service does not answer and REQUIRE_INFRA is unset; with REQUIRE_INFRA=1
// (as in CI) needs() has already registered a failing test for it (test/support/infra.ts).
describe.skipIf(!pgUp)("postgres store: what only a real server has", () => {
  test("stores opened at once on one fresh database migrate it exactly once", async () => {
    const { url, schema } = freshSchemaUrl();
    await withAdmin((sql) => sql`create schema ${sql(schema)}`);
    const stores = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl: url })));
    try {
      expect(stores.map((s) => s.kind)).toEqual(["postgres", "postgres", "postgres"]);
      const [first] = stores;
      const rows = await first!.sql<{ version: number }[]>`select version from schema_migrations order by version`;
      expect(rows.map((r) => r.version)).toEqual((await loadMigrations()).map((m) => m.version));
      const [count] = await first!.sql<{ n: number }[]>`select count(*)::int as n from strategies`;
      expect(count?.n).toBe(2);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test("the url it reports hides the password", async () => {
    const store = await openFresh();
    try {
      const password = new URL(infra.databaseUrl).password;
      if (password) expect(store.url).not.toContain(`:${password}@`);
      expect(store.url).toContain(new URL(infra.databaseUrl).host);
    } finally {
      await store.close();
    }
  });
});

describe("postgres store: a server that is not there", () => {
  test("openStore rejects with a retryable STORE_UNAVAILABLE", async () => {
    // Port 1 on loopback: nothing listens there, so the refusal is immediate.
    const err = await openStore({ databaseUrl: "postgres://alpha:alpha@127.0.0.1:1/alpha" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
  });
});
