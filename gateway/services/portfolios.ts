/**
 * Portfolios, from the portfolio stage's read model in the cache (src/portfolio/read-model.ts),
 * and the trades behind them, from the ledger (src/store/ledger.ts).
 */
import type { Sql } from "postgres";
import type { Cache } from "../../src/cache/port.ts";
import type { Broker } from "../../src/config.ts";
import type { Position } from "../../src/portfolio/index.ts";
import { readBuiltPositions, totalsOf } from "../../src/portfolio/read-model.ts";
import { recentTrades } from "../../src/store/ledger.ts";
import { ApiError } from "../api/errors.ts";
import type { PortfolioView, PositionView, Services } from "../api/services.ts";

/** Same strings in the same order (a cache that answers with the same instances compares by pointer). */
function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The view of a broker's positions: frozen, so the API can serialize it once (gateway/api/portfolios.ts). */
function portfolioView(broker: Broker, positions: readonly Position[], startingCash: number): PortfolioView {
  const totals = totalsOf(positions, startingCash);
  return Object.freeze({
    broker,
    cash: totals.cash,
    realised_pnl: totals.realised_pnl,
    unrealised_pnl: totals.unrealised_pnl,
    fees: totals.fees,
    positions: Object.freeze(
      positions
        .filter((p) => p.quantity !== 0 || p.realised_pnl !== 0)
        .map((p) =>
          Object.freeze({
            strategy_id: p.strategy_id,
            instrument_token: p.instrument_token,
            quantity: p.quantity,
            average_price: p.average_price,
            last_price: p.last_price,
            realised_pnl: p.realised_pnl,
            unrealised_pnl: p.unrealised_pnl,
            fees: p.fees,
          }),
        ),
    ) as PositionView[],
  });
}

/**
 * The broker's positions as the read model holds them, JSON each; while it is not whole (before
 * the portfolio stage's first rebuild, or after the cache lost it) a 503, never the starting cash
 * with no positions as if that were the portfolio.
 *
 * @example
 * const positions = Object.values(await builtPositions(cache, "paper")).map((json) => JSON.parse(json) as Position);
 */
export async function builtPositions(cache: Cache, broker: Broker): Promise<Record<string, string>> {
  const built = await readBuiltPositions(cache, broker);
  if (built) return built;
  throw new ApiError("READ_MODEL_REBUILDING", `the ${broker} portfolio is being rebuilt from the ledger (the cache does not hold it yet); retry in a second`, {
    status: 503,
    headers: { "Retry-After": "1" },
  });
}

/**
 * @example
 * const portfolios = portfolioService({ sql: store.sql, cache, startingCash: config.startingCash });
 * const view = await portfolios.get("paper"); // 503 READ_MODEL_REBUILDING while the cache is rebuilt
 */
export function portfolioService(deps: { sql: Sql; cache: Cache; startingCash: number }): Omit<Services["portfolios"], "close"> {
  /** Per broker: the positions hash's values the last view was made from, and that view. */
  const lastViews = new Map<Broker, { positionsJson: string[]; view: PortfolioView }>();
  return {
    async get(broker) {
      // The view is remade only when a position in it changed (a portfolio is read far more often
      // than it changes, and parsing is most of a read).
      const positionsJson = Object.values(await builtPositions(deps.cache, broker));
      const last = lastViews.get(broker);
      if (last && sameStrings(last.positionsJson, positionsJson)) return last.view;
      const view = portfolioView(broker, positionsJson.map((json) => JSON.parse(json) as Position), deps.startingCash);
      lastViews.set(broker, { positionsJson, view });
      return view;
    },
    // Bounded by the services' guard (gateway/services/guarded.ts), as every read.
    trades: (broker, limit) => recentTrades(deps.sql, broker, limit),
  };
}
