/**
 * A broker's risk settings as the API reads them (src/store/risk-settings.ts) on every store
 * adapter: the seeded trading state with no limits, then what the control projection wrote, with
 * the later of the two rows' times.
 */
import { describe, expect, test } from "bun:test";
import { suiteStore } from "./suite-store.ts";
import type { Store } from "../../src/store/index.ts";
import { projectLimits, projectTradingState } from "../../src/store/controls.ts";
import { readRiskSettings } from "../../src/store/risk-settings.ts";

export function riskSettingsConformance(name: string, open: () => Promise<Store>): void {
  describe(`risk settings: ${name}`, () => {
    const opened = suiteStore(open);

    test("the seeded state has no limits; the projection's state, reason and limits are read back with the later time", async () => {
      expect(await readRiskSettings(opened.store.sql, "zerodha")).toMatchObject({ state: "ACTIVE", reason: undefined, limits: {} });

      const stateAt = Date.UTC(2026, 11, 7, 9, 15);
      const limitsAt = stateAt + 60_000;
      await projectTradingState(opened.store.sql, "paper", "HALTED", "the kill switch", 1, stateAt);
      await projectLimits(opened.store.sql, "paper", { max_order_quantity: 500, price_band_fraction: 0.05 } as never, 2, limitsAt);
      expect(await readRiskSettings(opened.store.sql, "paper")).toEqual({
        state: "HALTED",
        reason: "the kill switch",
        limits: { max_order_quantity: 500, price_band_fraction: 0.05 },
        updated_at: new Date(limitsAt).toISOString(),
      });
      // The other broker's rows are its own.
      expect((await readRiskSettings(opened.store.sql, "zerodha"))?.state).toBe("ACTIVE");
    });

    test("a broker with no trading_state row has no settings", async () => {
      await opened.store.sql`delete from trading_state where broker = 'zerodha'`;
      expect(await readRiskSettings(opened.store.sql, "zerodha")).toBeUndefined();
    });
  });
}
