/**
 * Builders for the exchange's events. Payload fields are written in one order and optional
 * prices are left out rather than set to undefined, so the JSON is the same however it was made.
 */
import type { OrderRequest, ExchangeEvent, CancelRejected, ModifyRejected } from "./types.ts";

/** The order fields every order.* payload starts with. */
export function orderFields(o: OrderRequest): OrderRequest {
  const out: OrderRequest = {
    order_id: o.order_id,
    signal_id: o.signal_id,
    strategy_id: o.strategy_id,
    instrument_token: o.instrument_token,
    side: o.side,
    quantity: o.quantity,
    order_type: o.order_type,
  };
  if (o.price !== undefined) out.price = o.price;
  if (o.trigger_price !== undefined) out.trigger_price = o.trigger_price;
  if (o.product !== undefined) out.product = o.product;
  if (o.amo) out.amo = true;
  return out;
}

export const submitted = (o: OrderRequest): ExchangeEvent => ({ type: "order.submitted", data: orderFields(o) });

export const rejected = (o: OrderRequest, reason_code: string, message: string): ExchangeEvent => ({
  type: "order.rejected",
  data: { ...orderFields(o), reason_code, message },
});

export const cancelled = (o: OrderRequest, reason: string): ExchangeEvent => ({ type: "order.cancelled", data: { ...orderFields(o), reason } });

export const cancelRejected = (data: CancelRejected): ExchangeEvent => ({ type: "order.cancel_rejected", data });

export const modified = (o: OrderRequest): ExchangeEvent => ({ type: "order.modified", data: o });

export const modifyRejected = (data: ModifyRejected): ExchangeEvent => ({ type: "order.modify_rejected", data });

export interface FillFacts {
  fill_id: string;
  fill_quantity: number;
  fill_price: number;
  filled_quantity: number;
  fees: number;
}

export const filled = (o: OrderRequest, f: FillFacts): ExchangeEvent => ({
  type: "order.filled",
  data: {
    ...orderFields(o),
    fill_id: f.fill_id,
    fill_quantity: f.fill_quantity,
    fill_price: f.fill_price,
    filled_quantity: f.filled_quantity,
    fees: f.fees,
    status: f.filled_quantity === o.quantity ? "FILLED" : "PARTIALLY_FILLED",
  },
});
