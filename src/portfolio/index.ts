/**
 * Positions and P&L per broker, as a pure fold over fills (and marks). Money is integer paise;
 * realised P&L is gross of fees, fees are tracked apart.
 *
 * @example
 * import { initialPortfolio, evolve, mark, snapshot } from "./portfolio/index.ts";
 * let state = initialPortfolio({ broker: "paper" });
 * state = evolve(state, filled.data);
 * state = mark(state, tick.data);
 * snapshot(state); // the pnl.snapshot payload
 */
export { evolve, evolveInPlace, mark, markInPlace, rebuild } from "./evolve.ts";
export { snapshot, positionsOf } from "./snapshot.ts";
export { initialPortfolio, positionKey, portfolioConfigSchema } from "./state.ts";
export type { PortfolioState, PortfolioTotals, PortfolioConfig, PortfolioConfigInput } from "./state.ts";
export { applyFill, markPosition, flatPosition } from "./position.ts";
export type { Position, PortfolioFill } from "./position.ts";
