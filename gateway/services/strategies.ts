/**
 * Strategies: read from their table (the control topics' projection), changed by a control
 * command (gateway/services/controls.ts) whose answer waits until the table has it.
 */
import type { Sql } from "postgres";
import { AlphaError } from "../../src/errors.ts";
import { compileStrategy } from "../../src/strategies/index.ts";
import { getStrategy, listStrategies, type Strategy } from "../../src/store/strategies.ts";
import { withinStore } from "../../src/store/wait.ts";
import type { Services, StrategyView } from "../api/services.ts";
import type { ControlCommands } from "./controls.ts";

/** A strategy's kind and params are checked with the same code the strategy stage runs. */
function checkStrategy(strategy: Pick<StrategyView, "id" | "kind" | "params">): void {
  const compiled = compileStrategy(strategy.id, strategy.kind, strategy.params);
  if (Array.isArray(compiled)) {
    throw new AlphaError("PAYLOAD_INVALID", compiled.map((problem) => `${problem.path}: ${problem.message}`).join("; "), { details: compiled });
  }
}

function strategyView(strategy: Strategy): StrategyView {
  return {
    id: strategy.id,
    kind: strategy.kind,
    params: strategy.params,
    instruments: strategy.instruments,
    brokers: strategy.brokers,
    enabled: strategy.enabled,
    created_at: strategy.createdAt.toISOString(),
    updated_at: strategy.updatedAt.toISOString(),
  };
}

/**
 * @example
 * const strategies = strategyService({ sql: store.sql, controls });
 * await strategies.update("momentum_fast", { enabled: false });
 */
export function strategyService(deps: { sql: Sql; controls: ControlCommands }): Services["strategies"] {
  const { sql, controls } = deps;
  // A bounded wait: STORE_UNAVAILABLE (a 503) when the database is down or stalled.
  const read = (id: string) => withinStore(getStrategy(sql, id), "cannot read the strategy");
  return {
    async list() {
      return (await withinStore(listStrategies(sql), "cannot list strategies")).map(strategyView);
    },
    async create(strategy) {
      checkStrategy(strategy);
      if (await read(strategy.id)) throw new AlphaError("CONFLICT", `strategy ${strategy.id} exists already`);
      const definition = { id: strategy.id, kind: strategy.kind, params: strategy.params, instruments: strategy.instruments, brokers: strategy.brokers, enabled: strategy.enabled };
      await controls.send(controls.brokersHere(strategy.brokers), { type: "control.strategy", data: definition }, "create the strategy");
      const created = await read(strategy.id);
      return created ? strategyView(created) : { ...definition };
    },
    async update(id, patch) {
      const current = await read(id);
      if (!current) return undefined;
      const definition = {
        id,
        kind: patch.kind ?? current.kind,
        params: patch.params ?? current.params,
        instruments: patch.instruments ?? current.instruments,
        brokers: patch.brokers ?? current.brokers,
        enabled: patch.enabled ?? current.enabled,
      };
      if (patch.kind !== undefined || patch.params !== undefined) checkStrategy(definition);
      // To the brokers it traded before and after: one it leaves learns it no longer trades there.
      await controls.send(controls.brokersHere([...new Set([...current.brokers, ...definition.brokers])]), { type: "control.strategy", data: definition }, "update the strategy");
      const updated = await read(id);
      return updated ? strategyView(updated) : undefined;
    },
  };
}
