/**
 * ApiKeys over the real api_keys table (migration 0003) on embedded PGlite: keys are stored
 * hashed, verified with a short cache, revoked, listed; bootstrap registration is idempotent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { allows, ApiKeys, bearerKey, createDevKey, hashKey, registerBootstrapKey } from "../../gateway/api/auth.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

let store: Store;
let keys: ApiKeys;
beforeAll(async () => {
  store = await openStore();
  keys = new ApiKeys(store.sql);
}, 30_000);
afterAll(() => store?.close());

describe("ApiKeys", () => {
  test("create returns the key once; only its sha256 is stored", async () => {
    const { id, key, scopes } = await keys.create(["read"], "dashboard");
    expect(key).toMatch(/^ap_[A-Za-z0-9_-]{43}$/);
    expect(scopes).toEqual(["read"]);
    const [row] = await store.sql`select * from api_keys where id = ${id}`;
    expect(row!.key_hash).toBe(new Bun.CryptoHasher("sha256").update(key).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(key);
    expect(await keys.verify(key)).toEqual(["read"]);
  });

  test("verify: unknown, short and absurd keys are undefined", async () => {
    expect(await keys.verify("ap_doesNotExistButIsLongEnough")).toBeUndefined();
    expect(await keys.verify("short")).toBeUndefined();
    expect(await keys.verify("x".repeat(10_000))).toBeUndefined();
  });

  test("verified keys are cached: no query until the TTL ends; revoke clears this process's cache", async () => {
    const local = new ApiKeys(store.sql, { ttlMs: 60_000 });
    const { id, key } = await local.create(["trade"]);
    expect(await local.verify(key)).toEqual(["trade"]);
    // Revoked behind the cache's back (another process): still cached here until the TTL.
    await store.sql`update api_keys set revoked_at = now() where id = ${id}`;
    expect(await local.verify(key)).toEqual(["trade"]);
    const fresh = new ApiKeys(store.sql);
    expect(await fresh.verify(key)).toBeUndefined();

    const other = await local.create(["trade"]);
    expect(await local.verify(other.key)).toEqual(["trade"]);
    expect(await local.revoke(other.id)).toBe(true);
    expect(await local.verify(other.key)).toBeUndefined();
    expect(await local.revoke(other.id)).toBe(false);
    expect(await local.revoke("not-a-uuid")).toBe(false);
  });

  test("the cache is bounded", async () => {
    const local = new ApiKeys(store.sql, { maxCached: 2 });
    const made = await Promise.all([1, 2, 3].map(() => local.create(["read"])));
    for (const m of made) await local.verify(m.key);
    expect((local as unknown as { cache: Map<string, unknown> }).cache.size).toBe(2);
  });

  test("list shows names, scopes and revocation, never keys", async () => {
    const { id } = await keys.create(["read", "trade"], "listed");
    const all = await keys.list();
    const mine = all.find((k) => k.id === id)!;
    expect(mine).toMatchObject({ name: "listed", scopes: ["read", "trade"], revoked_at: null });
    expect(mine.created_at).toBeInstanceOf(Date);
    expect(Object.keys(mine).sort()).toEqual(["created_at", "id", "name", "revoked_at", "scopes"]);
  });

  test("scopes are checked in code and by the table", async () => {
    await expect(keys.create(["admin" as "read"])).rejects.toThrow(/scopes must be some of read, trade/);
    await expect(keys.create([])).rejects.toThrow();
    await expect(store.sql`insert into api_keys (key_hash, scopes) values (${"a".repeat(64)}, ${["admin"]})`).rejects.toThrow(/check/);
  });

  test("a store that is gone is STORE_UNAVAILABLE (retryable), not 'unknown key'", async () => {
    const gone = await openStore();
    const k = new ApiKeys(gone.sql);
    await gone.close();
    await expect(k.verify("ap_someKeyThatIsLongEnough")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
  });
});

describe("bootstrap and dev keys", () => {
  test("registerBootstrapKey is idempotent and makes a trade key", async () => {
    const key = "bootstrap-key-from-env-0123456789";
    const first = await registerBootstrapKey(store.sql, key);
    const again = await registerBootstrapKey(store.sql, key);
    expect(first.created).toBe(true);
    expect(again).toEqual({ id: first.id, created: false });
    expect(await new ApiKeys(store.sql).verify(key)).toEqual(["trade"]);
    const rows = await store.sql`select count(*)::int as n from api_keys where key_hash = ${hashKey(key)}`;
    expect(rows[0]!.n).toBe(1);
  });

  test("a revoked bootstrap key stays revoked", async () => {
    const key = "bootstrap-key-revoked-0123456789";
    const { id } = await registerBootstrapKey(store.sql, key);
    await keys.revoke(id);
    expect(await registerBootstrapKey(store.sql, key)).toEqual({ id, created: false });
    expect(await new ApiKeys(store.sql).verify(key)).toBeUndefined();
  });

  test("a guessable bootstrap key is refused", async () => {
    await expect(registerBootstrapKey(store.sql, "secret")).rejects.toThrow(/16 to 256 characters/);
  });

  test("createDevKey makes a working trade key", async () => {
    const { key } = await createDevKey(store.sql);
    expect(await keys.verify(key)).toEqual(["trade"]);
  });
});

describe("helpers", () => {
  test("trade implies read; read does not imply trade", () => {
    expect(allows(["trade"], "read")).toBe(true);
    expect(allows(["read"], "trade")).toBe(false);
    expect(allows(["read"], "read")).toBe(true);
  });

  test("bearerKey reads only Bearer headers", () => {
    expect(bearerKey("Bearer ap_abc")).toBe("ap_abc");
    expect(bearerKey("bearer  ap_abc ")).toBe("ap_abc");
    expect(bearerKey("Basic abc")).toBeUndefined();
    expect(bearerKey("Bearer")).toBeUndefined();
    expect(bearerKey(undefined)).toBeUndefined();
  });
});
