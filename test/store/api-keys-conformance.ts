/**
 * The API keys repository (src/store/api-keys.ts) on every store adapter: a key is found by its
 * hash until revoked, revoked once, listed oldest first with its revocation; storing a hash twice
 * is refused, or (insertApiKeyOnce) leaves the first as it is; the table refuses unknown scopes.
 */
import { describe, expect, test } from "bun:test";
import type { Store } from "../../src/store/index.ts";
import { sqlState, suiteStore } from "./suite-store.ts";
import { activeKeyScopes, insertApiKey, insertApiKeyOnce, listApiKeys, openAlgoLive, revokeApiKey, setOpenAlgoLive } from "../../src/store/api-keys.ts";

/** A fresh SHA-256-shaped hash (64 hex characters). */
const freshHash = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");

export function apiKeysConformance(name: string, open: () => Promise<Store>): void {
  describe(`api keys: ${name}`, () => {
    const opened = suiteStore(open);

    test("a stored key is found by its hash with its scopes; an unknown hash is not", async () => {
      const hash = freshHash();
      const id = await insertApiKey(opened.store.sql, { name: "ci", hash, scopes: ["read", "trade"] });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await activeKeyScopes(opened.store.sql, hash)).toEqual(["read", "trade"]);
      expect(await activeKeyScopes(opened.store.sql, freshHash())).toBeUndefined();
    });

    test("a hash stored twice is refused; insertApiKeyOnce keeps the first, revoked or not", async () => {
      const hash = freshHash();
      const id = await insertApiKey(opened.store.sql, { name: "first", hash, scopes: ["read"] });
      expect(await sqlState(insertApiKey(opened.store.sql, { name: "second", hash, scopes: ["trade"] }))).toBe("23505");
      expect(await insertApiKeyOnce(opened.store.sql, { name: "again", hash, scopes: ["trade"] })).toEqual({ id, created: false });
      expect(await activeKeyScopes(opened.store.sql, hash)).toEqual(["read"]);

      const other = freshHash();
      const made = await insertApiKeyOnce(opened.store.sql, { name: "bootstrap", hash: other, scopes: ["trade"] });
      expect(made.created).toBe(true);
      await revokeApiKey(opened.store.sql, made.id);
      expect(await insertApiKeyOnce(opened.store.sql, { name: "bootstrap", hash: other, scopes: ["trade"] })).toEqual({ id: made.id, created: false });
      expect(await activeKeyScopes(opened.store.sql, other)).toBeUndefined();
    });

    test("a key is revoked once: its hash back the first time, nothing after; it stays listed, oldest first", async () => {
      const older = freshHash();
      const newer = freshHash();
      const olderId = await insertApiKey(opened.store.sql, { name: "older", hash: older, scopes: ["read"] });
      await Bun.sleep(5);
      const newerId = await insertApiKey(opened.store.sql, { name: "newer", hash: newer, scopes: ["trade"] });
      expect(await revokeApiKey(opened.store.sql, olderId)).toEqual([older]);
      expect(await revokeApiKey(opened.store.sql, olderId)).toEqual([]);
      expect(await revokeApiKey(opened.store.sql, "00000000-0000-4000-8000-000000000000")).toEqual([]);
      expect(await activeKeyScopes(opened.store.sql, older)).toBeUndefined();

      const listed = await listApiKeys(opened.store.sql);
      const ids = listed.map((k) => k.id);
      expect(ids.indexOf(olderId)).toBeLessThan(ids.indexOf(newerId));
      const [revoked] = listed.filter((k) => k.id === olderId);
      expect(revoked).toMatchObject({ name: "older", scopes: ["read"] });
      expect(revoked!.created_at).toBeInstanceOf(Date);
      expect(revoked!.revoked_at).toBeInstanceOf(Date);
      expect(listed.find((k) => k.id === newerId)).toMatchObject({ name: "newer", scopes: ["trade"], revoked_at: null });
      expect(Object.keys(revoked!).sort()).toEqual(["created_at", "id", "name", "revoked_at", "scopes"]);
    });

    test("the table refuses unknown or no scopes, and a hash that is not SHA-256 hex", async () => {
      expect(await sqlState(insertApiKey(opened.store.sql, { name: "admin", hash: freshHash(), scopes: ["admin"] }))).toBe("23514");
      expect(await sqlState(insertApiKey(opened.store.sql, { name: "none", hash: freshHash(), scopes: [] }))).toBe("23514");
      expect(await sqlState(insertApiKey(opened.store.sql, { name: "short", hash: "abc", scopes: ["read"] }))).toBe("23514");
    });

    test("a key's OpenAlgo mode is analyze until set live, and back; a revoked or unknown key has none", async () => {
      const hash = freshHash();
      const id = await insertApiKey(opened.store.sql, { name: "openalgo", hash, scopes: ["trade"] });
      expect(await openAlgoLive(opened.store.sql, hash)).toBe(false);
      expect(await setOpenAlgoLive(opened.store.sql, hash, true)).toBe(true);
      expect(await openAlgoLive(opened.store.sql, hash)).toBe(true);
      expect(await setOpenAlgoLive(opened.store.sql, hash, false)).toBe(true);
      expect(await openAlgoLive(opened.store.sql, hash)).toBe(false);
      await revokeApiKey(opened.store.sql, id);
      expect(await openAlgoLive(opened.store.sql, hash)).toBeUndefined();
      expect(await setOpenAlgoLive(opened.store.sql, hash, true)).toBe(false);
      expect(await setOpenAlgoLive(opened.store.sql, freshHash(), true)).toBe(false);
    });
  });
}
