/**
 * How a strategy's wish becomes a signal payload: deterministic ids and lot-sized quantities.
 */
import type { PayloadOf } from "../events/payloads.ts";

/** The payload of `signal.generated`, as strategies emit it onto `{broker}.signals.raw`. */
export type Signal = PayloadOf<"signal.generated">;

/**
 * The signal id for the `seq`-th signal of a strategy on one instrument. The same ticks give the
 * same ids, so a replay is deduplicated downstream instead of trading twice.
 *
 * @example
 * signalId("momentum_fast", 738561, 3); // "momentum_fast:738561:3"
 */
export const signalId = (strategyId: string, token: number, seq: number): string => `${strategyId}:${token}:${seq}`;

/**
 * A quantity as a whole number of lots, never less than one lot. Rounds down so a strategy
 * never trades more than it asked for (except the one-lot floor).
 *
 * @example
 * toLots(130, 50); // 100
 * toLots(10, 50); // 50
 */
export function toLots(quantity: number, lotSize: number): number {
  const lot = Number.isSafeInteger(lotSize) && lotSize > 0 ? lotSize : 1;
  return Math.max(lot, Math.floor(quantity / lot) * lot);
}
