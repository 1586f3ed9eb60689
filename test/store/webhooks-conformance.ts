/**
 * The strategy webhooks repository (src/store/webhooks.ts) on every store adapter: a webhook is
 * found by its token's hash until revoked, revoked once (by id, or by id within its strategy),
 * listed oldest first with its rule and revocation; a hash stored twice, a strategy id that is not
 * one, a hash that is not SHA-256 hex and a rule that is not an object are refused.
 */
import { describe, expect, test } from "bun:test";
import type { Store } from "../../src/store/index.ts";
import { sqlState, suiteStore } from "./suite-store.ts";
import { activeWebhook, insertWebhook, listWebhooks, revokeWebhook } from "../../src/store/webhooks.ts";

/** A fresh SHA-256-shaped hash (64 hex characters). */
const freshHash = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");

export function webhooksConformance(name: string, open: () => Promise<Store>): void {
  describe(`strategy webhooks: ${name}`, () => {
    const opened = suiteStore(open);
    const rule = { broker: "paper", exchange: "NSE", product: "MIS", quantity: 5, chartink_action: "scan_name", nested: { deep: [1, "x"] } };

    test("a stored webhook is found by its hash with its strategy and rule (exactly); an unknown hash is not", async () => {
      const hash = freshHash();
      const made = await insertWebhook(opened.store.sql, { strategy_id: "momentum_fast", hash, rule });
      expect(made.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(made).toMatchObject({ strategy_id: "momentum_fast", rule, revoked_at: null });
      expect(made.created_at).toBeInstanceOf(Date);
      expect(await activeWebhook(opened.store.sql, hash)).toEqual(made);
      expect(await activeWebhook(opened.store.sql, freshHash())).toBeUndefined();
    });

    test("a revoked webhook is not found; it is revoked once, only within its own strategy when one is named; it stays listed, oldest first", async () => {
      const older = await insertWebhook(opened.store.sql, { strategy_id: "mean_reversion_bank", hash: freshHash(), rule: {} });
      await Bun.sleep(5);
      const newerHash = freshHash();
      const newer = await insertWebhook(opened.store.sql, { strategy_id: "mean_reversion_bank", hash: newerHash, rule: { quantity: 1 } });
      expect(await revokeWebhook(opened.store.sql, newer.id, { strategyId: "momentum_fast" })).toBe(false);
      expect(await activeWebhook(opened.store.sql, newerHash)).toMatchObject({ id: newer.id });
      expect(await revokeWebhook(opened.store.sql, newer.id, { strategyId: "mean_reversion_bank" })).toBe(true);
      expect(await revokeWebhook(opened.store.sql, newer.id)).toBe(false);
      expect(await revokeWebhook(opened.store.sql, "00000000-0000-4000-8000-000000000000")).toBe(false);
      expect(await activeWebhook(opened.store.sql, newerHash)).toBeUndefined();

      const listed = await listWebhooks(opened.store.sql, { strategyId: "mean_reversion_bank" });
      expect(listed.map((w) => w.id)).toEqual([older.id, newer.id]);
      expect(listed[0]).toMatchObject({ rule: {}, revoked_at: null });
      expect(listed[1]!.revoked_at).toBeInstanceOf(Date);
      expect(listed[1]!.rule).toEqual({ quantity: 1 });
      expect(Object.keys(listed[1]!).sort()).toEqual(["created_at", "id", "revoked_at", "rule", "strategy_id"]);
      const all = await listWebhooks(opened.store.sql);
      expect(all.some((w) => w.strategy_id === "momentum_fast")).toBe(true);
      expect(all.filter((w) => w.strategy_id === "mean_reversion_bank").map((w) => w.id)).toEqual([older.id, newer.id]);
    });

    test("the table refuses a hash stored twice, a malformed strategy id, a hash that is not SHA-256 hex and a rule that is not an object", async () => {
      const hash = freshHash();
      await insertWebhook(opened.store.sql, { strategy_id: "momentum_fast", hash, rule: {} });
      expect(await sqlState(insertWebhook(opened.store.sql, { strategy_id: "momentum_fast", hash, rule: {} }))).toBe("23505");
      expect(await sqlState(insertWebhook(opened.store.sql, { strategy_id: "Not-A-Strategy", hash: freshHash(), rule: {} }))).toBe("23514");
      expect(await sqlState(insertWebhook(opened.store.sql, { strategy_id: "momentum_fast", hash: "abc", rule: {} }))).toBe("23514");
      expect(await sqlState(insertWebhook(opened.store.sql, { strategy_id: "momentum_fast", hash: freshHash(), rule: [1] as never }))).toBe("23514");
    });
  });
}
