/**
 * What the risk manager of one broker remembers between signals. Plain JSON (records, not maps),
 * so a worker can persist it as is.
 */
import type { Paise } from "../money.ts";
import type { TradingState } from "../orders/vocabulary.ts";
import { DEFAULT_LIMITS, type RiskLimits } from "./limits.ts";

export { TRADING_STATES, type TradingState } from "../orders/vocabulary.ts";

export interface RiskState {
  trading: TradingState;
  /** Why trading is in its state: the kill switch's reason, or the loss breach. */
  trading_reason: string | null;
  /** When the trading state last changed, ms since the epoch. */
  trading_since: number | null;
  limits: RiskLimits;
  /** The IST day ("YYYY-MM-DD") the daily figures below belong to; null before any event. */
  day: string | null;
  /** Validated orders today, by strategy id. */
  orders_today: Readonly<Record<string, number>>;
  /** When recent orders were validated (ms), for the per-second throttle; at most a second old. */
  recent_orders: readonly number[];
  /** Net position in units, by instrument token. Zero positions are left out. */
  positions: Readonly<Record<string, number>>;
  /** Net position in units, by "strategy_id:instrument_token". */
  strategy_positions: Readonly<Record<string, number>>;
  /** The account's latest P&L since it opened, net of fees (realised − fees + unrealised), paise. */
  pnl_total: Paise;
  /** {@link pnl_total} when the IST day began: the day's P&L is the difference. */
  pnl_day_open: Paise;
}

/**
 * A broker's risk state before anything happened.
 *
 * @example
 * let state = initialRiskState(parseLimits({ max_daily_loss: 25_000_00 }));
 */
export const initialRiskState = (limits: RiskLimits = DEFAULT_LIMITS): RiskState => ({
  trading: "ACTIVE",
  trading_reason: null,
  trading_since: null,
  limits,
  day: null,
  orders_today: {},
  recent_orders: [],
  positions: {},
  strategy_positions: {},
  pnl_total: 0,
  pnl_day_open: 0,
});

/**
 * Realised + unrealised P&L of the state's day, net of fees, paise.
 *
 * @example
 * dayPnl(state) < -state.limits.max_daily_loss; // breached
 */
export const dayPnl = (state: RiskState): number => state.pnl_total - state.pnl_day_open;

/** The key of {@link RiskState.strategy_positions}. */
export const strategyPositionKey = (strategyId: string, token: number): string => `${strategyId}:${token}`;

/** The throttle's window. */
export const RATE_WINDOW_MS = 1_000;
