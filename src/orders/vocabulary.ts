/**
 * The order words, defined once. The zod enums (`z.enum(SIDES)`), the TypeScript types and, through
 * the zod schemas, the OpenAPI enums all derive from these lists; nowhere else spells them out.
 *
 * @example
 * const side = z.enum(SIDES); // BUY | SELL
 * if (isFinal(order.status)) return; // nothing moves a FILLED, REJECTED, CANCELLED or FAILED order
 */

export const SIDES = ["BUY", "SELL"] as const;
export type Side = (typeof SIDES)[number];

export const ORDER_TYPES = ["MARKET", "LIMIT", "SL", "SL-M"] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

/** MIS: intraday; CNC: delivery; NRML: carried derivatives. */
export const PRODUCTS = ["MIS", "CNC", "NRML"] as const;
export type Product = (typeof PRODUCTS)[number];

/** In lifecycle order: a status only moves forward (src/orders/lifecycle.ts). */
export const ORDER_STATUSES = ["PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED", "REJECTED", "CANCELLED", "FAILED"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses an order may still leave: it is waiting, or resting at the venue. */
export const OPEN_STATUSES = ["PENDING", "OPEN", "PARTIALLY_FILLED"] as const satisfies readonly OrderStatus[];
/** Statuses an order never leaves. */
export const FINAL_STATUSES = ["FILLED", "REJECTED", "CANCELLED", "FAILED"] as const satisfies readonly OrderStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];
/** The status an `order.filled` event gives its order. */
export const FILL_STATUSES = ["FILLED", "PARTIALLY_FILLED"] as const satisfies readonly OrderStatus[];

const FINAL = new Set<string>(FINAL_STATUSES);

/** True for a status the order never leaves. */
export const isFinal = (status: string): status is FinalStatus => FINAL.has(status);

/** ACTIVE: normal. REDUCING: only orders that shrink a position pass. HALTED: nothing passes. */
export const TRADING_STATES = ["ACTIVE", "REDUCING", "HALTED"] as const;
export type TradingState = (typeof TRADING_STATES)[number];

/** Which prices each order type needs: the others must be absent. */
export const PRICES_NEEDED: Readonly<Record<OrderType, { price: boolean; trigger_price: boolean }>> = {
  MARKET: { price: false, trigger_price: false },
  LIMIT: { price: true, trigger_price: false },
  SL: { price: true, trigger_price: true },
  "SL-M": { price: false, trigger_price: true },
};
