/**
 * The risk state after an event. Pure: the day and the throttle window come from the event's `at`.
 *
 * `evolveInPlace` gives the same result but updates the position books of the state passed in:
 * for a caller that owns the state and keeps only the one returned (the risk stage), where copying
 * both books (one key per instrument held) for every fill would make a fill cost O(instruments held).
 */
import { toRupees } from "../money.ts";
import { istDay } from "./day.ts";
import type { RiskEvent } from "./events.ts";
import { RATE_WINDOW_MS, dayPnl, strategyPositionKey, type RiskState } from "./state.ts";

/**
 * A new IST day starts with no orders, and its P&L counts from the last total seen; positions and
 * the trading state carry over.
 */
export function rollDay(state: RiskState, at: number): RiskState {
  const day = istDay(at);
  // Only forward: a late event from yesterday counts toward today rather than undoing it.
  if (state.day !== null && day <= state.day) return state;
  return { ...state, day, orders_today: {}, pnl_day_open: state.pnl_total };
}

/**
 * A loss beyond the limit puts an ACTIVE broker in REDUCING: only orders that shrink a position
 * pass, and the risk stage squares off its intraday positions. Lifting it is a person's call.
 */
function reduceOnLoss(state: RiskState, at: number): RiskState {
  const pnl = dayPnl(state);
  if (state.trading !== "ACTIVE" || pnl >= -state.limits.max_daily_loss) return state;
  return {
    ...state,
    trading: "REDUCING",
    trading_reason: `DAILY_LOSS_BREACHED: day P&L ₹${toRupees(pnl)} is below -₹${toRupees(state.limits.max_daily_loss)}`,
    trading_since: at,
  };
}

function moved(book: Readonly<Record<string, number>>, key: string, by: number): Record<string, number> {
  const { [key]: was = 0, ...rest } = book;
  return was + by === 0 ? rest : { ...rest, [key]: was + by };
}

function moveInPlace(book: Record<string, number>, key: string, by: number): void {
  const now = (Object.hasOwn(book, key) ? book[key]! : 0) + by;
  if (now === 0) delete book[key];
  else book[key] = now;
}

/**
 * {@link evolve}, updating `state`'s position books themselves on a fill, and its P&L on a
 * PnlUpdated (and returning the state).
 * The state passed in must not be used afterwards.
 */
export function evolveInPlace(state: RiskState, event: RiskEvent): RiskState {
  if (event.type === "PnlUpdated") {
    // On every tick of a held instrument: no copy unless the day rolls or the loss breaches.
    const s = rollDay(state, event.at);
    s.pnl_total = event.realised_pnl - (event.fees ?? 0) + event.unrealised_pnl;
    return reduceOnLoss(s, event.at);
  }
  if (event.type !== "FillApplied") return evolve(state, event);
  const s = rollDay(state, event.at);
  const by = event.side === "BUY" ? event.quantity : -event.quantity;
  moveInPlace(s.positions as Record<string, number>, String(event.instrument_token), by);
  moveInPlace(s.strategy_positions as Record<string, number>, strategyPositionKey(event.strategy_id, event.instrument_token), by);
  return s;
}

/**
 * Applies one event.
 *
 * @example
 * state = evolve(state, { type: "SignalValidated", strategy_id: "momentum_fast", instrument_token: 738561, at: now });
 */
export function evolve(state: RiskState, event: RiskEvent): RiskState {
  // A control carries the operator's clock, not the market's: it never starts a trading day (a
  // backtest of last year's ticks under today's limits keeps last year's days).
  const s = event.type === "TradingStateSet" || event.type === "LimitsChanged" ? state : rollDay(state, event.at);
  switch (event.type) {
    case "SignalValidated":
      return {
        ...s,
        orders_today: { ...s.orders_today, [event.strategy_id]: (s.orders_today[event.strategy_id] ?? 0) + 1 },
        recent_orders: [...s.recent_orders.filter((t) => t > event.at - RATE_WINDOW_MS), event.at],
      };
    case "FillApplied": {
      const by = event.side === "BUY" ? event.quantity : -event.quantity;
      return {
        ...s,
        positions: moved(s.positions, String(event.instrument_token), by),
        strategy_positions: moved(s.strategy_positions, strategyPositionKey(event.strategy_id, event.instrument_token), by),
      };
    }
    case "PnlUpdated":
      return reduceOnLoss({ ...s, pnl_total: event.realised_pnl - (event.fees ?? 0) + event.unrealised_pnl }, event.at);
    case "TradingStateSet":
      return { ...s, trading: event.state, trading_reason: event.reason, trading_since: event.at };
    case "LimitsChanged":
      // Tighter limits may turn today's loss into a breach.
      return reduceOnLoss({ ...s, limits: event.limits }, event.at);
  }
}
