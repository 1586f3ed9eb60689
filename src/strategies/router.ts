/**
 * The strategy runner's state: every configured strategy, and an instrument → strategies map so a
 * tick reaches only the strategies that asked for its instrument, in O(1). The strategies stay
 * pure; this class is the one place that keeps their states between ticks.
 */
import { z } from "zod";
import { BROKERS, type Broker } from "../config.ts";
import type { Problem } from "../errors.ts";
import type { Tick } from "../events/payloads.ts";
import { StrategyConfigError, problemsOf } from "./errors.ts";
import type { Signal } from "./signal.ts";
import { compileStrategy, type InstrumentState, type Strategy } from "./strategy.ts";

/** A row of the `strategies` table, as the store reads it (extra fields are ignored). */
export interface StrategyRow {
  id: string;
  kind: string;
  params: Readonly<Record<string, unknown>>;
  instruments: readonly number[];
  brokers: readonly Broker[];
  enabled: boolean;
}

/** One signal, and the brokers whose `{broker}.signals.raw` it goes to. */
export interface RoutedSignal {
  strategy_id: string;
  brokers: readonly Broker[];
  signal: Signal;
}

/** Every strategy's per-instrument state, as JSON. */
export interface RouterSnapshot {
  version: 1;
  strategies: Record<string, { kind: string; params: string; instruments: Record<string, InstrumentState> }>;
}

export interface RouterOptions {
  /** The instrument's lot size; undefined (an unknown instrument) trades in units of 1. */
  lotSize: (token: number) => number | undefined;
}

// params are checked by the strategy's kind, which knows their shape.
const rowSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be lower case letters, digits and _ , starting with a letter"),
  kind: z.string(),
  instruments: z.array(z.number().int().positive().max(2 ** 32 - 1)),
  brokers: z.array(z.enum(BROKERS)).min(1),
  enabled: z.boolean(),
});

interface Instance {
  row: StrategyRow;
  strategy: Strategy;
  /** The params as canonical JSON: a different key means a different strategy. */
  paramsKey: string;
  states: Map<number, InstrumentState>;
}

const idOf = (row: unknown): string =>
  typeof row === "object" && row !== null && typeof (row as { id?: unknown }).id === "string" ? (row as { id: string }).id : "?";

/**
 * A row checked, with its strategy compiled from its kind and params. Throws a
 * {@link StrategyConfigError} listing every problem.
 *
 * @example
 * compileRow({ id: "mom", kind: "momentum", params: {}, instruments: [738561], brokers: ["paper"], enabled: true });
 */
export function compileRow(input: StrategyRow): { row: StrategyRow; strategy: Strategy } {
  const parsed = rowSchema.safeParse(input, { reportInput: true });
  const problems: Problem[] = parsed.success ? [] : problemsOf(parsed.error.issues, "");
  const compiled = compileStrategy(idOf(input), input.kind, input.params);
  if (Array.isArray(compiled)) problems.push(...compiled);
  if (!parsed.success || Array.isArray(compiled)) throw new StrategyConfigError(idOf(input), problems);
  return { row: { ...parsed.data, params: compiled.params, instruments: [...new Set(parsed.data.instruments)] }, strategy: compiled };
}

/**
 * Routes ticks to strategies and collects their signals.
 *
 * @example
 * const router = new StrategyRouter({ lotSize: (token) => master.byToken(token)?.lot_size });
 * for (const row of await listStrategies(sql)) router.upsert(row);
 * for (const { brokers, signal } of router.onTick(tick)) for (const b of brokers) publish(b, signal);
 */
export class StrategyRouter {
  readonly #instances = new Map<string, Instance>();
  readonly #routes = new Map<number, Instance[]>();
  readonly #lotSize: (token: number) => number | undefined;

  constructor(opts: RouterOptions) {
    this.#lotSize = opts.lotSize;
  }

  /**
   * Adds a strategy or changes one at run time. New kind or params, or a disable, resets its
   * state; an instrument dropped from the row loses its state. Signal sequence numbers always
   * carry over, so ids never repeat. Throws a {@link StrategyConfigError} listing every problem,
   * and then changes nothing.
   */
  upsert(input: StrategyRow): void {
    const { row, strategy: compiled } = compileRow(input);
    const paramsKey = JSON.stringify(compiled.params);
    const prev = this.#instances.get(row.id);
    const states = new Map<number, InstrumentState>();
    if (prev) {
      const reset = prev.strategy.kind !== compiled.kind || prev.paramsKey !== paramsKey || !row.enabled;
      for (const [token, s] of prev.states) {
        states.set(token, reset || !row.instruments.includes(token) ? compiled.initial(s.seq) : s);
      }
      this.#unroute(prev);
    }
    const next: Instance = { row, strategy: compiled, paramsKey, states };
    this.#instances.set(row.id, next);
    if (row.enabled) this.#route(next);
  }

  /** Stops routing ticks to a strategy; true if it was running. Its state resets, its ids don't. */
  disable(id: string): boolean {
    const inst = this.#instances.get(id);
    if (!inst || !inst.row.enabled) return false;
    this.upsert({ ...inst.row, enabled: false });
    return true;
  }

  /** Runs every strategy that wants this tick's instrument; their signals, in routing order. */
  onTick(tick: Tick): RoutedSignal[] {
    const wanting = this.#routes.get(tick.instrument_token);
    if (!wanting) return [];
    const out: RoutedSignal[] = [];
    const lot = this.#lotSize(tick.instrument_token) ?? 1;
    for (const inst of wanting) {
      const state = inst.states.get(tick.instrument_token) ?? inst.strategy.initial();
      const step = inst.strategy.step(state, tick, lot);
      inst.states.set(tick.instrument_token, step.state);
      for (const signal of step.signals) out.push({ strategy_id: inst.row.id, brokers: inst.row.brokers, signal });
    }
    return out;
  }

  /** The ids of the running strategies that want an instrument. */
  strategiesFor(token: number): string[] {
    return (this.#routes.get(token) ?? []).map((i) => i.row.id);
  }

  /** Every known row (running or disabled), as last upserted. */
  rows(): StrategyRow[] {
    return [...this.#instances.values()].map((i) => i.row);
  }

  /** One strategy's state on one instrument, if it has seen a tick there. */
  stateOf(id: string, token: number): InstrumentState | undefined {
    return this.#instances.get(id)?.states.get(token);
  }

  /** Every state, as JSON, to persist next to the consumed offset. */
  snapshot(): RouterSnapshot {
    const strategies: RouterSnapshot["strategies"] = {};
    for (const [id, inst] of this.#instances) {
      strategies[id] = { kind: inst.strategy.kind, params: inst.paramsKey, instruments: Object.fromEntries(inst.states) };
    }
    return { version: 1, strategies };
  }

  /**
   * Puts snapshotted states back; call after the rows are upserted. A strategy whose kind or
   * params changed since keeps only its sequence numbers; unknown ids are ignored.
   */
  restore(snapshot: RouterSnapshot): void {
    for (const [id, saved] of Object.entries(snapshot.strategies)) {
      const inst = this.#instances.get(id);
      if (!inst) continue;
      const same = saved.kind === inst.strategy.kind && saved.params === inst.paramsKey && inst.row.enabled;
      for (const [key, s] of Object.entries(saved.instruments)) {
        const token = Number(key);
        inst.states.set(token, same && inst.row.instruments.includes(token) ? s : inst.strategy.initial(s.seq));
      }
    }
  }

  #route(inst: Instance): void {
    for (const token of inst.row.instruments) {
      const list = this.#routes.get(token);
      if (list) list.push(inst);
      else this.#routes.set(token, [inst]);
    }
  }

  #unroute(inst: Instance): void {
    for (const token of inst.row.instruments) {
      const list = this.#routes.get(token)?.filter((i) => i !== inst);
      if (list && list.length > 0) this.#routes.set(token, list);
      else this.#routes.delete(token);
    }
  }
}
