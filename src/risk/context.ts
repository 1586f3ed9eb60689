/**
 * What `decide` needs to know besides the risk state: the market and the books, as of `now`.
 * {@link riskContext} derives it from the risk state; a worker may also fill it from elsewhere
 * (positions from the portfolio's read model, say).
 */
import type { ExchangeCalendar } from "../market/calendar.ts";
import type { Instrument } from "../market/instruments.ts";
import type { Paise } from "../money.ts";
import { istDay } from "./day.ts";
import type { RiskLimits } from "./limits.ts";
import { dayPnl, strategyPositionKey, type RiskState } from "./state.ts";

export interface RiskContext {
  limits: RiskLimits;
  /** undefined: not an instrument we know (rejected UNKNOWN_INSTRUMENT). Its exchange picks the hours. */
  instrument: (Pick<Instrument, "tick_size" | "lot_size"> & Partial<Pick<Instrument, "exchange">>) | undefined;
  /** The exchange calendar with MARKET_HOURS=nse; undefined: hours are not enforced. */
  hours: ExchangeCalendar | undefined;
  /** With hours: when intraday positions are squared off, minutes after midnight IST (MIS_SQUARE_OFF_AT). */
  mis_square_off_minute: number | undefined;
  /** The last tick's price, paise; undefined before the first tick. */
  last_price: Paise | undefined;
  /** Net position on the instrument, units, all strategies. */
  position: number;
  /** This strategy's net position on the instrument, units. */
  strategy_position: number;
  /** This strategy's validated orders today (IST). */
  orders_today: number;
  /** Realised + unrealised P&L of the day, net of fees, paise. */
  day_pnl: Paise;
  /** The signal's event time (its envelope's `ts`), ms since the epoch. */
  now: number;
}

/**
 * The context of a signal, from the risk state and the market.
 *
 * @example
 * const ctx = riskContext(state, signal, { instrument: master.byToken(t), last_price: 245135 }, now);
 */
export function riskContext(
  state: RiskState,
  signal: { strategy_id: string; instrument_token: number },
  market: { instrument: RiskContext["instrument"]; last_price: Paise | undefined; hours?: ExchangeCalendar | undefined; mis_square_off_minute?: number },
  now: number,
): RiskContext {
  // Counters of a past day are not today's: the state only rolls over on its next event. A signal
  // stamped before the state's day (late, by event time) counts toward that day, as evolve does.
  const today = state.day === null || istDay(now) <= state.day;
  return {
    limits: state.limits,
    instrument: market.instrument,
    hours: market.hours,
    mis_square_off_minute: market.hours ? market.mis_square_off_minute : undefined,
    last_price: market.last_price,
    position: state.positions[String(signal.instrument_token)] ?? 0,
    strategy_position: state.strategy_positions[strategyPositionKey(signal.strategy_id, signal.instrument_token)] ?? 0,
    orders_today: today ? (state.orders_today[signal.strategy_id] ?? 0) : 0,
    // A new day's P&L counts from the last total seen.
    day_pnl: today ? dayPnl(state) : 0,
    now,
  };
}
