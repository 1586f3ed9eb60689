/**
 * A broker's controls as the log has them: the fold of its control topic, pure. Each part keeps
 * the offset of the command it came from, so a projection can tell newer from older and risk can
 * tell a signal's strategy definition from the current one.
 */
import { DEFAULT_LIMITS, type RiskLimits } from "../risk/limits.ts";
import type { StrategyReasonCode } from "../risk/reasons.ts";
import type { TradingState } from "../risk/state.ts";
import type { ControlCommand, StrategyDef } from "./commands.ts";

export interface ControlState {
  trading: {
    state: TradingState;
    reason: string | null;
    /** When it last changed (the command envelope's ts, ms); null before any command. */
    since: number | null;
    /** The command's offset; null before any command (ACTIVE by default). */
    offset: number | null;
  };
  /** DEFAULT_LIMITS (offset null) until a limits command. */
  limits: { limits: RiskLimits; offset: number | null };
  strategies: Readonly<Record<string, { def: StrategyDef; offset: number }>>;
}

/** Before any command: ACTIVE, the default limits, no strategies. */
export const initialControlState = (): ControlState => ({
  trading: { state: "ACTIVE", reason: null, since: null, offset: null },
  limits: { limits: DEFAULT_LIMITS, offset: null },
  strategies: {},
});

/**
 * The state after a command found at `offset`, sent at `at` (ms). A command older than what the
 * state holds for the same key is ignored (a reader sees each once, in order; this keeps a fold of
 * a re-read harmless).
 *
 * @example
 * let s = initialControlState();
 * s = evolveControl(s, { type: "control.trading_state", data: { state: "HALTED", reason: "kill switch" } }, 0, Date.now());
 * s.trading.state; // "HALTED"
 */
export function evolveControl(state: ControlState, cmd: ControlCommand, offset: number, at: number): ControlState {
  switch (cmd.type) {
    case "control.trading_state": {
      if (state.trading.offset !== null && offset <= state.trading.offset) return state;
      const changed = state.trading.state !== cmd.data.state || state.trading.since === null;
      return { ...state, trading: { state: cmd.data.state, reason: cmd.data.reason, since: changed ? at : state.trading.since, offset } };
    }
    case "control.limits":
      if (state.limits.offset !== null && offset <= state.limits.offset) return state;
      return { ...state, limits: { limits: cmd.data.limits, offset } };
    case "control.strategy": {
      const known = state.strategies[cmd.data.id];
      if (known && offset <= known.offset) return state;
      return { ...state, strategies: { ...state.strategies, [cmd.data.id]: { def: cmd.data, offset } } };
    }
  }
}

/**
 * Why risk refuses a strategy's signal under these controls, or undefined when it may be judged:
 * STRATEGY_DISABLED when the strategy is unknown, disabled or no longer trades this broker;
 * STRATEGY_CHANGED when the signal was generated under an older definition than the one here.
 *
 * @example
 * strategyVerdict(state, "paper", "momentum_fast", 3); // undefined, or { reason_code, message }
 */
export function strategyVerdict(
  state: ControlState,
  broker: string,
  strategyId: string,
  generatedUnder: number,
): { reason_code: StrategyReasonCode; message: string } | undefined {
  const known = state.strategies[strategyId];
  if (!known) return { reason_code: "STRATEGY_DISABLED", message: `strategy ${strategyId} is not configured for ${broker}` };
  if (!known.def.enabled) return { reason_code: "STRATEGY_DISABLED", message: `strategy ${strategyId} is disabled` };
  if (!known.def.brokers.includes(broker as never)) return { reason_code: "STRATEGY_DISABLED", message: `strategy ${strategyId} no longer trades ${broker}` };
  if (generatedUnder < known.offset) {
    return { reason_code: "STRATEGY_CHANGED", message: `strategy ${strategyId} changed (definition at control offset ${known.offset}) after this signal was generated (under ${generatedUnder})` };
  }
  return undefined;
}
