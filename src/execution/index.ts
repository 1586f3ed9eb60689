/**
 * The paper broker: an exchange simulator with a Zerodha-like fee model. Pure: no I/O, no clock.
 *
 * @example
 * import { PaperExchange, emptyExchangeState } from "./execution/index.ts";
 * const exchange = new PaperExchange({ slippage_bps: 2 }, { instruments: master.byToken });
 * let state = emptyExchangeState();
 * ({ state } = exchange.onTick(state, tick, now));
 * const { state: next, events } = exchange.submit(state, order, now);
 */
export { PaperExchange } from "./exchange.ts";
export type { OrderChange } from "./modify.ts";
export { cancelOpen } from "./cancel-open.ts";
export { emptyExchangeState, lastTrade, ordersOf, findClosed } from "./state.ts";
export { fees, feesOnTurnover } from "./fees.ts";
export type { Fees, Side } from "./fees.ts";
export { slippedPrice, stopTriggered, limitCrossed, marketableLimitPrice } from "./pricing.ts";
export {
  RATE_SCALE,
  DEFAULT_FEE_SCHEDULE,
  feeScheduleSchema,
  exchangeConfigSchema,
  parseExchangeConfig,
  parseFeeSchedule,
} from "./config.ts";
export type { FeeSchedule, ExchangeConfig, ExchangeConfigInput } from "./config.ts";
export type {
  OrderRequest,
  InstrumentSpec,
  InstrumentLookup,
  RejectReason,
  CancelRejectReason,
  CancelRejected,
  ModifyRejected,
  ExchangeEvent,
  OpenOrder,
  LastTrade,
  ClosedOrder,
  ExchangeState,
  ExchangeResult,
  ExchangeCommand,
} from "./types.ts";
