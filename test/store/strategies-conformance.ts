/**
 * The strategies repository (src/store/strategies.ts) on every store adapter, over what the
 * control projection writes: every strategy or the enabled ones by id, one by id, tokens past
 * 2^31 as numbers.
 */
import { describe, expect, test } from "bun:test";
import { suiteStore } from "./suite-store.ts";
import type { Store } from "../../src/store/index.ts";
import { projectStrategy } from "../../src/store/controls.ts";
import { getStrategy, listStrategies } from "../../src/store/strategies.ts";

export function strategiesConformance(name: string, open: () => Promise<Store>): void {
  describe(`strategies: ${name}`, () => {
    const opened = suiteStore(open);

    test("a projected strategy is read back; listed by id; a disabled one only in the full list", async () => {
      const definition = { id: "aaa_first", kind: "momentum", params: { lookback: 5 }, instruments: [4_294_967_295, 738561], brokers: ["paper", "zerodha"] as ("paper" | "zerodha")[], enabled: false };
      await projectStrategy(opened.store.sql, "paper", definition, 7);
      const got = await getStrategy(opened.store.sql, "aaa_first");
      expect(got).toMatchObject(definition);
      expect(got!.createdAt).toBeInstanceOf(Date);
      expect(got!.updatedAt).toBeInstanceOf(Date);
      expect((await listStrategies(opened.store.sql)).map((s) => s.id)).toEqual(["aaa_first", "mean_reversion_bank", "momentum_fast"]);
      expect((await listStrategies(opened.store.sql, { enabledOnly: true })).map((s) => s.id)).toEqual(["mean_reversion_bank", "momentum_fast"]);
      expect(await getStrategy(opened.store.sql, "no_such_strategy")).toBeUndefined();
    });
  });
}
