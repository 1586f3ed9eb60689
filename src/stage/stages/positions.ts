/**
 * The portfolio read model in the cache: `{broker}:positions` is a hash of
 * "strategy_id:instrument_token" → a position as JSON (paise and units). Each position is written
 * by the one worker that owns its instrument; totals are summed at read time, so no two workers
 * ever write the same field.
 */
import type { Cache } from "../../cache/port.ts";
import type { Broker } from "../../config.ts";
import type { Position } from "../../portfolio/index.ts";

export const positionsKey = (broker: Broker) => `${broker}:positions`;

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

export async function portfolioTotals(cache: Cache, broker: Broker, startingCash: number): Promise<Totals> {
  return totalsOf(await readPositions(cache, broker), startingCash);
}
