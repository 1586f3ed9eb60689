/**
 * A configured strategy: a kind bound to its validated params. Its `step` is the pure
 * `(state, tick) → { state, signals }` of one strategy on one instrument.
 */
import type { z } from "zod";
import type { Tick } from "../events/payloads.ts";
import type { Problem } from "../errors.ts";
import type { Direction, StrategyKind } from "./kind.ts";
import { meanReversion } from "./mean-reversion.ts";
import { momentum } from "./momentum.ts";
import { StrategyConfigError, problemsOf } from "./errors.ts";
import { signalId, toLots, type Signal } from "./signal.ts";

/**
 * Where one strategy stands on one instrument. Plain JSON, so it can be snapshotted.
 * `seq` counts the signals emitted so far (the last signal id's number); `position` is the
 * strategy's own notion of its signed position in units, not the broker's.
 */
export interface InstrumentState {
  readonly seq: number;
  readonly position: number;
  readonly model: unknown;
}

export interface StrategyStep {
  state: InstrumentState;
  signals: readonly Signal[];
}

/** A strategy, ready to run. */
export interface Strategy {
  readonly id: string;
  readonly kind: string;
  /** The validated params, defaults filled in. */
  readonly params: Readonly<Record<string, unknown>>;
  /** A fresh state; `seq` carries over a previous one, so signal ids never repeat after a reset. */
  initial(seq?: number): InstrumentState;
  /** Pure: one tick in, the next state and any signals out. `lotSize` is the instrument's. */
  step(state: InstrumentState, tick: Tick, lotSize: number): StrategyStep;
}

const NO_SIGNALS: readonly Signal[] = Object.freeze([]);

function bind<P extends { quantity: number }, S>(kind: StrategyKind<P, S>, id: string, raw: unknown): Strategy | Problem[] {
  const parsed = kind.params.safeParse(raw, { reportInput: true });
  if (!parsed.success) return problemsOf(parsed.error.issues, "params");
  const p = parsed.data;
  return {
    id,
    kind: kind.kind,
    params: p,
    initial: (seq = 0) => ({ seq, position: 0, model: kind.initial(p) }),
    step(state, tick, lotSize) {
      const held = Math.sign(state.position) as Direction;
      const { model, target } = kind.next(p, state.model as S, tick.last_price, held);
      const delta = target ? target.direction * toLots(p.quantity, lotSize) - state.position : 0;
      if (!target || delta === 0) return { state: { ...state, model }, signals: NO_SIGNALS };
      const seq = state.seq + 1;
      const signal: Signal = {
        signal_id: signalId(id, tick.instrument_token, seq),
        strategy_id: id,
        instrument_token: tick.instrument_token,
        side: delta > 0 ? "BUY" : "SELL",
        quantity: Math.abs(delta),
        order_type: "MARKET",
        reference_price: tick.last_price,
        reason: target.reason,
      };
      return { state: { seq, position: state.position + delta, model }, signals: [signal] };
    },
  };
}

const KINDS: Record<string, (id: string, params: unknown) => Strategy | Problem[]> = {
  momentum: (id, params) => bind(momentum, id, params),
  mean_reversion: (id, params) => bind(meanReversion, id, params),
};

/** The kinds a strategy row may name. */
export const STRATEGY_KINDS: readonly string[] = Object.freeze(Object.keys(KINDS));

/** Each kind's params schema, by kind: the API validates and documents params with these. */
export const STRATEGY_PARAMS: Readonly<Record<string, z.ZodType>> = Object.freeze({ momentum: momentum.params, mean_reversion: meanReversion.params });

/**
 * A strategy, or every problem with its kind and params (for callers that gather problems).
 *
 * @example
 * const s = compileStrategy("mr", "mean_reversion", row.params);
 * if (Array.isArray(s)) problems.push(...s);
 */
export function compileStrategy(id: string, kind: string, params: unknown): Strategy | Problem[] {
  // hasOwn, or "toString" would be found on the prototype and called as a kind.
  const build = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  if (!build) return [{ path: "kind", message: `unknown strategy kind ${JSON.stringify(kind)} (known: ${STRATEGY_KINDS.join(", ")})` }];
  return build(id, params);
}

/**
 * A strategy from its kind and params; throws a {@link StrategyConfigError} naming every bad field.
 *
 * @example
 * const s = createStrategy("momentum_fast", "momentum", { lookback: 20, threshold_bps: 15, quantity: 1 });
 * let state = s.initial();
 * ({ state } = s.step(state, tick, 1));
 */
export function createStrategy(id: string, kind: string, params: unknown): Strategy {
  const s = compileStrategy(id, kind, params);
  if (Array.isArray(s)) throw new StrategyConfigError(id, s);
  return s;
}
