/**
 * The portfolio read model in the cache, owned by the portfolio stage (its only writer) and read
 * by the gateway; no other stage reads it (test/stage/boundaries.unit.test.ts).
 * `{broker}:positions` is a hash of "strategy_id:instrument_token" → a position as JSON (paise
 * and units). Each position is written by the one worker that owns its instrument; totals are
 * summed at read time, so no two workers ever write the same field.
 *
 * `{broker}:positions:built` is written after every position of the broker was: while it is
 * missing (before the portfolio stage's first rebuild, or after the cache lost its data: a Redis
 * flush or restart) the hash is not the portfolio, and nobody may read it as if it were.
 */
import type { Cache } from "../cache/port.ts";
import type { Broker } from "../config.ts";
import type { Position } from "./position.ts";

export const positionsKey = (broker: Broker) => `${broker}:positions`;

/** Written (the time, ISO) once every position of the broker is in {@link positionsKey}. */
export const positionsBuiltKey = (broker: Broker) => `${broker}:positions:built`;

/**
 * The broker's positions, or undefined while the read model is not whole (no marker). The marker
 * is read after the positions: a flush between the two reads then gives undefined, never an
 * emptied hash taken for the portfolio. (Both are sent at once: one connection runs its commands
 * in the order sent, Redis's and the in-memory cache's alike, so that costs no round trip.)
 *
 * @example
 * const positions = await readBuiltPositions(cache, "paper"); // undefined: rebuilding
 */
export async function readBuiltPositions(cache: Cache, broker: Broker): Promise<Record<string, string> | undefined> {
  const [all, built] = await Promise.all([cache.hgetall(positionsKey(broker)), cache.get(positionsBuiltKey(broker))]);
  return built === null ? undefined : all;
}

export async function readPositions(cache: Cache, broker: Broker): Promise<Position[]> {
  const all = await cache.hgetall(positionsKey(broker));
  return Object.values(all).map((v) => JSON.parse(v) as Position);
}

export interface Totals {
  cash: number;
  realised_pnl: number;
  unrealised_pnl: number;
  fees: number;
  open_positions: number;
}

/** Cash = starting cash − Σ buys + Σ sells − Σ fees, all from the positions: exact integers. */
export function totalsOf(positions: readonly Position[], startingCash: number): Totals {
  const t: Totals = { cash: startingCash, realised_pnl: 0, unrealised_pnl: 0, fees: 0, open_positions: 0 };
  for (const p of positions) {
    t.cash += p.sell_value - p.buy_value - p.fees;
    t.realised_pnl += p.realised_pnl;
    t.unrealised_pnl += p.unrealised_pnl;
    t.fees += p.fees;
    if (p.quantity !== 0) t.open_positions++;
  }
  return t;
}

/** The totals from the read model; undefined while it is not whole (see {@link readBuiltPositions}). */
export async function portfolioTotals(cache: Cache, broker: Broker, startingCash: number): Promise<Totals | undefined> {
  const all = await readBuiltPositions(cache, broker);
  return all && totalsOf(Object.values(all).map((v) => JSON.parse(v) as Position), startingCash);
}
