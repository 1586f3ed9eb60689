/**
 * Kite's postbacks (order updates POSTed as raw JSON to our postback_url) and the mapping of
 * Kite's order statuses onto our order lifecycle.
 *
 * A postback is only as trustworthy as its checksum, sha256(order_id + order_timestamp +
 * api_secret): it is checked first, in constant time, before anything else of the body is read.
 */
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { describeIssues, orderSchema, type KiteOrder } from "./schemas.ts";

/** A postback: the order's latest state (prices in paise, times in UTC ISO) and who it is for. */
export const postbackSchema = orderSchema.extend({
  user_id: z.string().min(1),
  app_id: z.number().int().optional(),
  unfilled_quantity: z.number().int().nonnegative().default(0),
});
export type KitePostback = z.output<typeof postbackSchema>;

export type PostbackResult =
  | { ok: true; update: KitePostback }
  | {
      ok: false;
      /** not_json → 400; bad_checksum → 401 (not from Kite, or another app's secret); invalid → 400. */
      reason: "not_json" | "bad_checksum" | "invalid";
      message: string;
    };

/** sha256(order_id + order_timestamp + api_secret), hex: what Kite puts in `checksum`. */
export function postbackChecksum(orderId: string, orderTimestamp: string, apiSecret: string): string {
  return new Bun.CryptoHasher("sha256").update(orderId + orderTimestamp + apiSecret).digest("hex");
}

function sameChecksum(given: string, expected: string): boolean {
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(expected, "utf8");
  // The length of a sha256 hex digest is public; only the content needs the constant-time compare.
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks and reads one postback body (the raw bytes as received; Kite's docs say to read the raw
 * body, not a re-serialised one). Expected failures are values, not exceptions.
 *
 * @example
 * const r = verifyPostback(await req.text(), env.KITE_API_SECRET);
 * if (!r.ok) return c.json({ error: r.message }, r.reason === "bad_checksum" ? 401 : 400);
 * handle(r.update, kiteOrderStatus(r.update));
 */
export function verifyPostback(body: string | Uint8Array, apiSecret: string): PostbackResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(body));
  } catch {
    return { ok: false, reason: "not_json", message: "postback body is not JSON" };
  }
  const raw = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const { order_id, order_timestamp, checksum } = raw;
  if (typeof order_id !== "string" || typeof order_timestamp !== "string" || typeof checksum !== "string") {
    return { ok: false, reason: "bad_checksum", message: "postback lacks order_id, order_timestamp or checksum" };
  }
  if (!sameChecksum(checksum, postbackChecksum(order_id, order_timestamp, apiSecret))) {
    return { ok: false, reason: "bad_checksum", message: `postback for order ${order_id} has a checksum that does not match our api_secret` };
  }
  const parsed = postbackSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, reason: "invalid", message: `postback for order ${order_id} is not in Kite's documented shape: ${describeIssues(parsed.error)}` };
  }
  return { ok: true, update: parsed.data };
}

/** Where a Kite order is in our lifecycle. */
export type KiteLifecycle = "submitted" | "open" | "partially_filled" | "filled" | "cancelled" | "rejected" | "unknown";

// Accepted by Kite, on its way through validation and RMS, not yet working at the exchange.
const SUBMITTED = new Set(["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING", "AMO REQ RECEIVED"]);
// Working at the exchange, including the passing states of a modify or cancel request.
const OPEN = new Set([
  "OPEN",
  "TRIGGER PENDING",
  "MODIFY VALIDATION PENDING",
  "MODIFY PENDING",
  "MODIFIED",
  "NOT MODIFIED",
  "CANCEL PENDING",
  "UPDATE",
]);

/**
 * Kite's status (with the fill counts) → our lifecycle. A live order with some but not all of its
 * quantity filled is partially filled; a CANCELLED order stays cancelled even with fills (its
 * fills are booked from its trades). A status Kite adds later comes back "unknown", for the
 * caller to log and poll rather than guess.
 *
 * @example
 * kiteOrderStatus({ status: "OPEN", quantity: 10, filled_quantity: 4 }); // "partially_filled"
 */
export function kiteOrderStatus(order: Pick<KiteOrder, "status" | "quantity" | "filled_quantity">): KiteLifecycle {
  const { status, quantity, filled_quantity: filled } = order;
  if (status === "COMPLETE") return "filled";
  if (status === "CANCELLED") return "cancelled";
  if (status === "REJECTED") return "rejected";
  const live = SUBMITTED.has(status) ? "submitted" : OPEN.has(status) ? "open" : undefined;
  if (live === undefined) return "unknown";
  return filled > 0 && filled < quantity ? "partially_filled" : live;
}
