/** Given/When/Then for risk: events in, a decision out, no infrastructure. */
import type { ExchangeCalendar } from "../../src/market/calendar.ts";
import { decide, evolve, initialRiskState, parseLimits, riskContext, type RiskEvent, type RiskLimits, type RiskSignal, type RiskState } from "../../src/risk/index.ts";

export const RELIANCE = 738561;
/** Monday 6 January 2025, 10:00 IST. */
export const NOW = Date.parse("2025-01-06T04:30:00.000Z");
export const SECOND = 1_000;

export const LIMITS: RiskLimits = parseLimits({
  max_order_quantity: 100,
  max_order_notional: 50_000_00, // ₹50,000
  max_position_quantity: 200,
  max_orders_per_strategy_per_day: 3,
  price_band_fraction: 0.05,
  max_daily_loss: 10_000_00, // ₹10,000
  max_orders_per_second: 2,
});

export const EQUITY = { tick_size: 5, lot_size: 1 };
/** ₹400.00 */
export const LAST = 40_000;

export const signal = (over: Partial<RiskSignal> = {}): RiskSignal => ({
  signal_id: "mom:738561:1",
  strategy_id: "mom",
  instrument_token: RELIANCE,
  side: "BUY",
  quantity: 10,
  order_type: "MARKET",
  reference_price: LAST,
  ...over,
});

/** The state after these events, starting from {@link LIMITS}. */
export const given = (...events: RiskEvent[]): RiskState => events.reduce(evolve, initialRiskState(LIMITS));

export interface Market {
  instrument?: { tick_size: number; lot_size: number; exchange?: string } | undefined;
  last_price?: number | undefined;
  now?: number;
  /** The exchange calendar (MARKET_HOURS=nse); none: hours not enforced. */
  hours?: ExchangeCalendar;
  /** With hours: the intraday square-off, minutes after midnight IST. */
  mis_square_off_minute?: number;
}

/** Risk's decision on a signal, with the market as given (an equity at ₹400.00 by default). */
export function when(state: RiskState, s: RiskSignal, market: Market = {}) {
  const m = { instrument: EQUITY, last_price: LAST, now: NOW, ...market };
  return decide(s, state, riskContext(state, s, { instrument: m.instrument, last_price: m.last_price, hours: m.hours, mis_square_off_minute: m.mis_square_off_minute }, m.now));
}

export const validated = (strategy_id = "mom", at = NOW): RiskEvent => ({ type: "SignalValidated", strategy_id, instrument_token: RELIANCE, at });
export const filled = (side: "BUY" | "SELL", quantity: number, strategy_id = "mom", at = NOW): RiskEvent => ({
  type: "FillApplied",
  strategy_id,
  instrument_token: RELIANCE,
  side,
  quantity,
  at,
});
/** The account's P&L since it opened (as pnl.snapshot reports it). */
export const pnl = (realised_pnl: number, unrealised_pnl: number, at = NOW, fees = 0): RiskEvent => ({
  type: "PnlUpdated",
  realised_pnl,
  unrealised_pnl,
  fees,
  at,
});
export const killSwitch = (state: "ACTIVE" | "REDUCING" | "HALTED", reason = "operator", at = NOW): RiskEvent => ({
  type: "TradingStateSet",
  state,
  reason,
  at,
});
