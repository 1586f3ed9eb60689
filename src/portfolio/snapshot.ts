/**
 * Read models of a portfolio: the pnl.snapshot payload and position lists.
 */
import type { PayloadOf } from "../events/payloads.ts";
import type { Position } from "./position.ts";
import type { PortfolioState } from "./state.ts";

/**
 * The pnl.snapshot payload. realised_pnl is gross of fees; fees are reported beside it, so the
 * net P&L is realised_pnl + unrealised_pnl − fees. `positions` counts open (non-flat) positions.
 *
 * @example
 * const data = snapshot(state); // { broker: "paper", cash, realised_pnl, unrealised_pnl, fees, positions }
 */
export function snapshot(state: PortfolioState): PayloadOf<"pnl.snapshot"> {
  return {
    broker: state.broker,
    cash: state.cash,
    realised_pnl: state.totals.realised_pnl,
    unrealised_pnl: state.totals.unrealised_pnl,
    fees: state.totals.fees,
    positions: state.totals.open_positions,
  };
}

/**
 * Positions, optionally only open ones or one strategy's, in key order.
 *
 * @example
 * positionsOf(state, { open: true, strategy_id: "momentum_fast" });
 */
export function positionsOf(state: PortfolioState, filter: { open?: boolean; strategy_id?: string } = {}): Position[] {
  return Object.keys(state.positions)
    .sort()
    .map((k) => state.positions[k] as Position)
    .filter((p) => (!filter.open || p.quantity !== 0) && (filter.strategy_id === undefined || p.strategy_id === filter.strategy_id));
}
