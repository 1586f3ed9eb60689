/**
 * Why risk rejects a signal. The order of this list is the order the checks run in, so the first
 * failing check (the rejection's `reason_code`) is the most fundamental one: a halted broker says
 * TRADING_HALTED before it says anything about the order's price.
 */
export const REASON_CODES = [
  "TRADING_HALTED",
  "REDUCE_ONLY",
  "UNKNOWN_INSTRUMENT",
  "MARKET_CLOSED",
  "AMO_MARKET_OPEN",
  "MIS_SQUARED_OFF",
  "INVALID_ORDER",
  "NO_MARKET_PRICE",
  "LOT_SIZE",
  "TICK_SIZE",
  "PRICE_BAND",
  "MAX_QUANTITY",
  "MAX_NOTIONAL",
  "MAX_POSITION",
  "MAX_ORDERS_PER_DAY",
  "DAILY_LOSS_BREACHED",
  "RATE_LIMITED",
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * Why risk refuses a strategy's signal before any rule runs: its strategy is disabled (or no
 * longer trades the broker), or the signal was generated under an older definition than risk
 * knows (src/control/state.ts `strategyVerdict`). API orders are never refused for these.
 */
export const STRATEGY_REASON_CODES = ["STRATEGY_DISABLED", "STRATEGY_CHANGED"] as const;

export type StrategyReasonCode = (typeof STRATEGY_REASON_CODES)[number];
