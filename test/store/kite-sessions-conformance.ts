/**
 * The Kite sessions repository (src/store/kite-sessions.ts) on every store adapter: one row per
 * Kite app, the newest login replacing the last (its time too); the table refuses an empty token.
 */
import { describe, expect, test } from "bun:test";
import type { Store } from "../../src/store/index.ts";
import { sqlState, suiteStore } from "./suite-store.ts";
import { loadAccessToken, storeAccessToken } from "../../src/store/kite-sessions.ts";

export function kiteSessionsConformance(name: string, open: () => Promise<Store>): void {
  describe(`kite sessions: ${name}`, () => {
    const opened = suiteStore(open);

    test("one session per api_key: the newest token, user and time replace the last; other apps are untouched", async () => {
      expect(await loadAccessToken(opened.store.sql, "app_a")).toBeUndefined();
      await storeAccessToken(opened.store.sql, { api_key: "app_a", access_token: "monday", user_id: "AB1234" });
      await storeAccessToken(opened.store.sql, { api_key: "app_b", access_token: "other" });
      const monday = await loadAccessToken(opened.store.sql, "app_a");
      expect(monday).toMatchObject({ api_key: "app_a", access_token: "monday", user_id: "AB1234" });
      expect(monday!.created_at).toBeInstanceOf(Date);

      await Bun.sleep(5);
      await storeAccessToken(opened.store.sql, { api_key: "app_a", access_token: "tuesday", user_id: null });
      const tuesday = await loadAccessToken(opened.store.sql, "app_a");
      expect(tuesday).toMatchObject({ api_key: "app_a", access_token: "tuesday", user_id: null });
      expect(tuesday!.created_at.getTime()).toBeGreaterThan(monday!.created_at.getTime());
      expect(await loadAccessToken(opened.store.sql, "app_b")).toMatchObject({ access_token: "other", user_id: null });
      const [rows] = await opened.store.sql<{ n: number }[]>`select count(*)::int as n from kite_sessions where api_key = 'app_a'`;
      expect(rows?.n).toBe(1);
    });

    test("an empty token or api_key is refused by the table", async () => {
      expect(await sqlState(storeAccessToken(opened.store.sql, { api_key: "app_c", access_token: "" }))).toBe("23514");
      expect(await sqlState(storeAccessToken(opened.store.sql, { api_key: "", access_token: "t" }))).toBe("23514");
      expect(await loadAccessToken(opened.store.sql, "app_c")).toBeUndefined();
    });
  });
}
