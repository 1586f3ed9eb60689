/**
 * What the risk manager learns, as past-tense events. Each carries `at` (ms since the epoch),
 * which is the only clock {@link ./evolve.ts} has.
 */
import type { Paise } from "../money.ts";
import type { Side } from "../orders/vocabulary.ts";
import type { RiskLimits } from "./limits.ts";
import type { TradingState } from "./state.ts";

/** Risk let a signal through: it counts toward the daily and per-second limits. */
export interface SignalValidated {
  type: "SignalValidated";
  strategy_id: string;
  instrument_token: number;
  at: number;
}

/** An order was (partly) filled at the broker: positions move. */
export interface FillApplied {
  type: "FillApplied";
  strategy_id: string;
  instrument_token: number;
  side: Side;
  /** This fill's quantity, not the order's. */
  quantity: number;
  at: number;
}

/**
 * The account's P&L since it opened, as `pnl.snapshot` reports it. Risk derives the day's P&L
 * itself, against the total at the start of the IST day.
 */
export interface PnlUpdated {
  type: "PnlUpdated";
  /** Realised since the account opened, gross of fees, paise. */
  realised_pnl: Paise;
  /** Unrealised now, paise. */
  unrealised_pnl: Paise;
  /** Fees paid since the account opened, paise; a loss too. Default 0. */
  fees?: Paise;
  at: number;
}

/** The kill switch: an operator (or the system) set the trading state. */
export interface TradingStateSet {
  type: "TradingStateSet";
  state: TradingState;
  reason: string;
  at: number;
}

/** New limits, already validated with `parseLimits`. */
export interface LimitsChanged {
  type: "LimitsChanged";
  limits: RiskLimits;
  at: number;
}

export type RiskEvent = SignalValidated | FillApplied | PnlUpdated | TradingStateSet | LimitsChanged;
