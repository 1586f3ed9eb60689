/**
 * Kite Connect v3 over REST: the client, postbacks, the session exchange. Prices are integer
 * paise on our side of every function here; Kite's rupee decimals never leave this folder.
 */
export { KiteClient, exchangeSession, DEFAULT_BASE_URL } from "./client.ts";
export type { KiteClientOptions, ExchangeSessionOptions } from "./client.ts";
export { KiteError, KITE_ERROR_CODES, RELOGIN_HINT } from "./errors.ts";
export type { KiteErrorKind, KiteErrorDetails } from "./errors.ts";
export type { FetchLike } from "./http.ts";
export { RateLimiter, systemClock } from "./limiter.ts";
export type { Clock, Window } from "./limiter.ts";
export { exactPaise, nearestPaise } from "./money.ts";
export { VARIETIES, kiteTag } from "./params.ts";
export type { Variety, PlaceOrderParams, ModifyOrderParams } from "./params.ts";
export { verifyPostback, postbackChecksum, kiteOrderStatus } from "./postback.ts";
export type { KitePostback, PostbackResult, KiteLifecycle } from "./postback.ts";
export { kiteTimeToIso } from "./schemas.ts";
export type { KiteOrder, KiteTrade, KitePosition, KitePositions, KiteHolding, KiteMargins, KiteSession } from "./schemas.ts";
export { storeAccessToken, loadAccessToken, runSessionCli } from "./session.ts";
export type { StoredSession } from "./session.ts";
