/**
 * The orders read model as the API shows it: an order row (src/store/orders.ts) as an
 * {@link OrderView}, and the opaque cursor of a page.
 */
import { AlphaError } from "../../src/errors.ts";
import type { StoredOrder } from "../../src/store/orders.ts";
import type { OrderView } from "../api/services.ts";

/**
 * @example
 * orderView(await orderById(sql, id)).average_price; // whole paise, rounded half up
 */
export function orderView(order: StoredOrder): OrderView {
  const filled = order.filled_quantity;
  return {
    order_id: order.order_id,
    broker: order.broker,
    strategy_id: order.strategy_id,
    instrument_token: order.instrument_token,
    side: order.side,
    quantity: order.quantity,
    filled_quantity: filled,
    order_type: order.order_type,
    price: order.price,
    trigger_price: order.trigger_price,
    // Integer division: the average fill price in whole paise, rounded half up.
    average_price: filled > 0 ? Math.floor((order.filled_value * 2 + filled) / (2 * filled)) : undefined,
    status: order.status,
    reason_code: order.reason_code,
    message: order.message,
    client_order_id: order.client_order_id,
    correlation_id: order.correlation_id,
    created_at: order.created_at,
    updated_at: order.updated_at,
  };
}

/** The cursor of the page that starts below `seq`. */
export const cursorBelow = (seq: number): string => Buffer.from(String(seq)).toString("base64url");

/** The seq a cursor this API gave out starts below; PAYLOAD_INVALID (a 422) for any other string. */
export function seqOfCursor(cursor: string): number {
  const seq = Number(Buffer.from(cursor, "base64url").toString());
  if (!/^[A-Za-z0-9_-]+$/.test(cursor) || !Number.isSafeInteger(seq) || seq <= 0) {
    throw new AlphaError("PAYLOAD_INVALID", "cursor: not a cursor this API gave out", { details: [{ path: "cursor", message: "cursor: not a cursor this API gave out" }] });
  }
  return seq;
}
