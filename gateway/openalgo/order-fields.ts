/**
 * OpenAlgo's order fields as its clients send them, and what they become in ours: `strategy` our
 * strategy_id, `action` our side, `pricetype` our order type, prices exact paise on the tick grid,
 * quantities whole lots. Anything we cannot honour is refused with a 400 naming the field, never
 * quietly changed.
 */
import { z } from "zod";
import type { Broker } from "../../src/config.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import { ORDER_TYPES, PRICES_NEEDED, PRODUCTS, SIDES, type OrderType } from "../../src/orders/vocabulary.ts";
import { STRATEGY_ID } from "../api/schemas.ts";
import type { PlaceOrder } from "../api/services.ts";
import { OaError } from "./errors.ts";
import { instrumentFor, OA_EXCHANGES, type SymbolIndex } from "./symbols.ts";
import { countOf, oaNumber, priceOf, quantityOf } from "./values.ts";

/**
 * OpenAlgo's strategy name as our strategy_id: lower case, each run of other characters one "_"
 * ("Test Strategy" → "test_strategy", the SDK's default "Python" → "python"). A name that still is
 * not a strategy_id (no letter first, longer than 63) is refused rather than renamed further.
 *
 * @example
 * strategyIdOf("My Strategy-1"); // "my_strategy_1"
 */
export function strategyIdOf(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  if (!STRATEGY_ID.test(id)) {
    throw new OaError(400, `strategy: ${JSON.stringify(name.slice(0, 80))} does not name a strategy here: it becomes our strategy_id as lower-case letters, digits and _, starting with a letter, at most 63 characters`);
  }
  return id;
}

export const strategyField = z.string().min(1).max(256).transform(strategyIdOf);
/** BUY or SELL, in any case (OpenAlgo takes BUY and buy). */
export const actionField = z.string().transform((s) => s.toUpperCase()).pipe(z.enum(SIDES));
export const pricetypeField = z.enum(ORDER_TYPES);
export const productField = z.enum(PRODUCTS);
export const exchangeField = z.enum(OA_EXCHANGES);

/** The fields of one order as placeorder, basketorder's items and splitorder send them (apikey and strategy aside). */
export const orderFields = {
  exchange: exchangeField,
  symbol: z.string().min(1).max(64),
  action: actionField,
  pricetype: pricetypeField.default("MARKET"),
  product: productField.default("MIS"),
  price: oaNumber.optional(),
  trigger_price: oaNumber.optional(),
  disclosed_quantity: oaNumber.optional(),
};

const orderBody = z.object({ ...orderFields, quantity: oaNumber });
export type OaOrderFields = z.output<typeof orderBody>;

/** Iceberg orders are not something our venues take: only OpenAlgo's default 0 is accepted. */
export function noDisclosedQuantity(value: string | number | undefined): void {
  if (value === undefined || value === "") return;
  if (countOf(value, "disclosed_quantity", 0) !== 0) {
    throw new OaError(400, `disclosed_quantity: ${JSON.stringify(value)} is not supported (iceberg orders are not placed here); send 0 or leave it out`);
  }
}

/** The prices an order type takes, in paise; a 400 for one it needs and lacks, or one it does not take. */
export function pricesOf(type: OrderType, instrument: Instrument, price: string | number | undefined, trigger: string | number | undefined): { price?: number; trigger_price?: number } {
  const prices = { price: priceOf(price, instrument, "price"), trigger_price: priceOf(trigger, instrument, "trigger_price") };
  const needed = PRICES_NEEDED[type];
  for (const field of ["price", "trigger_price"] as const) {
    if (needed[field] && prices[field] === undefined) throw new OaError(400, `${field}: is required for ${type} orders`);
    if (!needed[field] && prices[field] !== undefined) throw new OaError(400, `${field}: ${type} orders take no ${field}; send 0 or leave it out`);
  }
  return prices;
}

/**
 * One OpenAlgo order as our PlaceOrder: the instrument resolved, the quantity in whole lots, the
 * prices exact. `quantity` overrides the body's (a split's part, a smart order's difference).
 *
 * @example
 * const cmd = placeOrderOf(fields, strategyId, "paper", symbols);
 */
export function placeOrderOf(o: OaOrderFields, strategy_id: string, broker: Broker, symbols: SymbolIndex, quantity?: number): PlaceOrder {
  const instrument = instrumentFor(symbols, o.exchange, o.symbol);
  noDisclosedQuantity(o.disclosed_quantity);
  return {
    broker,
    instrument_token: instrument.instrument_token,
    side: o.action,
    quantity: quantity ?? quantityOf(o.quantity, instrument),
    order_type: o.pricetype,
    ...pricesOf(o.pricetype, instrument, o.price, o.trigger_price),
    product: o.product,
    strategy_id,
  };
}

/** OpenAlgo marks every answer in analyze (sandbox) mode with `"mode": "analyze"`. */
export const modeMark = (broker: Broker): { mode?: "analyze" } => (broker === "paper" ? { mode: "analyze" } : {});
