/**
 * Risk per broker: the trading state and limits read from their tables (the control topics'
 * projection), changed by control commands (gateway/services/controls.ts).
 */
import type { Sql } from "postgres";
import type { Broker } from "../../src/config.ts";
import { DEFAULT_LIMITS, parseLimits } from "../../src/risk/index.ts";
import { readRiskSettings } from "../../src/store/risk-settings.ts";
import { withinStore } from "../../src/store/wait.ts";
import type { RiskView, Services } from "../api/services.ts";
import type { ControlCommands } from "./controls.ts";

/**
 * @example
 * const risk = riskService({ sql: store.sql, controls });
 * await risk.setState("paper", "HALTED", "the kill switch");
 */
export function riskService(deps: { sql: Sql; controls: ControlCommands }): Services["risk"] {
  const { sql, controls } = deps;
  async function get(broker: Broker): Promise<RiskView> {
    const settings = await withinStore(readRiskSettings(sql, broker), "cannot read the risk settings");
    return {
      broker,
      state: settings?.state ?? "ACTIVE",
      reason: settings?.reason,
      limits: { ...DEFAULT_LIMITS, ...settings?.limits },
      updated_at: settings?.updated_at,
    };
  }
  return {
    get,
    async putLimits(broker, limits) {
      // A partial update: the named limits over the current ones (the log's), validated together.
      const plane = await controls.plane();
      await plane.caughtUp();
      const parsed = parseLimits(limits, plane.reader.state(broker).limits.limits);
      await controls.send([broker], { type: "control.limits", data: { limits: parsed } }, "set the limits");
      return get(broker);
    },
    async setState(broker, state, reason) {
      await controls.send([broker], { type: "control.trading_state", data: { state, reason: reason ?? "" } }, "set the trading state");
      return get(broker);
    },
  };
}
