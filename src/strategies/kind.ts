/**
 * What a strategy kind is: a params schema and a pure model. A kind only says which way it wants
 * to be positioned; turning that into lot-sized orders with ids is {@link ./strategy.ts}'s job, so
 * every kind gets entry/exit signals, ids and lot rounding the same way.
 */
import type { z } from "zod";
import type { Paise } from "../money.ts";

/** Short, flat or long. */
export type Direction = -1 | 0 | 1;

/** The position a kind wants, and why (the why goes into the signal's `reason`). */
export interface Target {
  direction: Direction;
  reason: string;
}

/** One step of a model: its next state and, when it has a view, the position it wants. */
export interface ModelStep<S> {
  model: S;
  target?: Target;
}

/**
 * A kind of strategy. `next` must be pure: same inputs, same output, no clock, no I/O.
 * The model state must be plain JSON, so the runner can snapshot it.
 *
 * @example
 * const hold: StrategyKind<{ quantity: number }, null> = {
 *   kind: "hold",
 *   params: z.object({ quantity: z.number().int().positive() }),
 *   initial: () => null,
 *   next: (_p, model) => ({ model }),
 * };
 */
export interface StrategyKind<P extends { quantity: number }, S> {
  readonly kind: string;
  readonly params: z.ZodType<P, unknown>;
  initial(params: P): S;
  next(params: P, model: S, price: Paise, position: Direction): ModelStep<S>;
}
