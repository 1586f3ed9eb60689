/**
 * The risk stage's logic, per broker: `decide` a signal against the limits and the trading state,
 * `evolve` the state with what happened. No I/O here; the risk worker adds the log.
 */
export { riskContext, type RiskContext } from "./context.ts";
export { istDay, istDayEnd } from "./day.ts";
export { decide, type RiskCheck, type RiskDecision } from "./decide.ts";
export { decideModify, modifiedSignal, type ModifyRequest } from "./modify.ts";
export type { FillApplied, LimitsChanged, PnlUpdated, RiskEvent, SignalValidated, TradingStateSet } from "./events.ts";
export { evolve, evolveInPlace, rollDay } from "./evolve.ts";
export { expiredSignal, SEND_TIMEOUT } from "./expiry.ts";
export { advance, emptyFold, foldFill, foldTick, foldValidated, isRedelivery, restore, rowOf, type LogPosition, type RiskBookRow, type RiskFold } from "./fold.ts";
export { DayEnd, isIntraday, minuteText, squareOffInstant, type DayEndRow, type SquareOff } from "./day-end.ts";
export { DEFAULT_LIMITS, MONEY_LIMITS, RiskLimitsError, limitsAtEdge, parseLimits, parseLimitsAtEdge, riskLimitsSchema, type RiskLimits } from "./limits.ts";
export { REASON_CODES, STRATEGY_REASON_CODES, type ReasonCode, type StrategyReasonCode } from "./reasons.ts";
export { reduces, type RiskSignal } from "./rules.ts";
export { RATE_WINDOW_MS, TRADING_STATES, dayPnl, initialRiskState, strategyPositionKey, type RiskState, type TradingState } from "./state.ts";
