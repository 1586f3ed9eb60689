/**
 * Kite's postback: the order's JSON plus user_id, app_id, unfilled_quantity and a checksum of
 * sha256(order_id + order_timestamp + api_secret), sent as a raw JSON body.
 */

export interface PostbackOptions {
  /** Checksum with this secret instead of the fake's (a postback meant for another app). */
  apiSecret?: string;
  userId?: string;
  /** Send this checksum as is (a forged or corrupted postback). */
  checksum?: string;
  /** Change fields after the checksum was computed (tampering in transit). */
  tamper?: Record<string, unknown>;
}

export function postbackBody(order: Record<string, unknown>, opts: PostbackOptions & { apiSecret: string; userId: string }): string {
  const orderId = String(order.order_id);
  const ts = String(order.order_timestamp);
  const checksum = opts.checksum ?? new Bun.CryptoHasher("sha256").update(orderId + ts + opts.apiSecret).digest("hex");
  const quantity = Number(order.quantity);
  const filled = Number(order.filled_quantity);
  const payload = {
    user_id: opts.userId,
    unfilled_quantity: order.status === "CANCELLED" || order.status === "REJECTED" ? quantity - filled : 0,
    app_id: 1234,
    checksum,
    ...order,
    ...opts.tamper,
  };
  return JSON.stringify(payload);
}
