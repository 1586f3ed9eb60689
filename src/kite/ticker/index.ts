/**
 * The Kite Connect ticker: a WebSocket client ({@link KiteTicker}), the binary codec
 * ({@link decodeFrame}) and the mapping onto our `market.tick` payload ({@link toMarketTick}).
 */
export { backoffDelay, type Backoff } from "./backoff.ts";
export { KiteTicker, type KiteDisconnect, type KiteTickerHandlers, type KiteTickerOptions, type KiteTickerState } from "./client.ts";
export { decodeFrame } from "./codec.ts";
export { KiteTickerError, type KiteTickerErrorReason } from "./errors.ts";
export { priceToPaise, toMarketTick } from "./market.ts";
export { MAX_INSTRUMENTS, Subscriptions, type KiteRequest } from "./subscriptions.ts";
export {
  KITE_MODES,
  KITE_SEGMENTS,
  priceDivisorOf,
  type DecodedFrame,
  type KiteDepth,
  type KiteDepthLevel,
  type KiteMode,
  type KiteOhlc,
  type KiteSegment,
  type KiteTick,
  type PriceDivisor,
} from "./types.ts";
