/**
 * Orders sent to an outside venue (`venue_orders`, migration 0006): our order id, the tag we sent
 * (so an order placed just before a crash is found again in the venue's book), the venue's id
 * once known, and the order itself, so the venue's updates become our lifecycle events. Written
 * by the execution stage (src/kite/venue.ts), read and updated by the gateway (gateway/kite.ts).
 */
import type { PayloadOf } from "../events/payloads.ts";
import type { Db } from "./db.ts";

/** Our order as sent to the venue. */
export interface VenueOrderRow {
  order_id: string;
  tag: string;
  venue_order_id: string | null;
  correlation_id: string;
  trace_id: string;
  /** The order.submitted payload fields we sent (ids, instrument, side, quantity, type, prices). */
  orig: PayloadOf<"order.submitted">;
}

/** An order as reconciliation needs it: how to find it in the venue's book. */
export type VenueOrderKey = Pick<VenueOrderRow, "order_id" | "tag" | "venue_order_id">;

/**
 * Records an order before it is sent; false when it was recorded before (sent already, or perhaps
 * just before a crash), and then nothing changes.
 *
 * @example
 * const fresh = await recordVenueOrder(db, "zerodha", { order_id, tag, correlation_id, trace_id, orig: order });
 */
export async function recordVenueOrder(db: Db, broker: string, o: Omit<VenueOrderRow, "venue_order_id">): Promise<boolean> {
  const rows = await db.query(
    `insert into venue_orders (order_id, broker, tag, correlation_id, trace_id, orig) values ($1, $2, $3, $4, $5, $6)
     on conflict (order_id) do nothing returning order_id`,
    [o.order_id, broker, o.tag, o.correlation_id, o.trace_id, o.orig],
  );
  return rows.length > 0;
}

/**
 * The venue's id for our order; undefined when the order is not recorded or its id is not known yet.
 *
 * @example
 * const venueId = await venueIdOf(db, orderId);
 */
export async function venueIdOf(db: Db, orderId: string): Promise<string | undefined> {
  const [row] = await db.query<{ venue_order_id: string | null }>("select venue_order_id from venue_orders where order_id = $1", [orderId]);
  return row?.venue_order_id ?? undefined;
}

/**
 * Keeps the venue's id for our order.
 *
 * @example
 * await setVenueId(db, orderId, venueId);
 */
export async function setVenueId(db: Db, orderId: string, venueId: string): Promise<void> {
  await db.query("update venue_orders set venue_order_id = $2, updated_at = now() where order_id = $1", [orderId, venueId]);
}

/**
 * Our order as recorded, by our id; undefined for an order never sent to the venue. The venue
 * needs the order itself too: an after-market order is cancelled and modified under its variety.
 *
 * @example
 * const sent = await venueOrderOf(db, orderId); // sent?.venue_order_id, sent?.orig
 */
export async function venueOrderOf(db: Db, orderId: string): Promise<VenueOrderRow | undefined> {
  const [row] = await db.query<VenueOrderRow>("select order_id, tag, venue_order_id, correlation_id, trace_id, orig from venue_orders where order_id = $1", [orderId]);
  return row;
}

/**
 * Keeps the order as the venue has it after a modify, so that its later updates (fills, the
 * status they give) are read against the modified quantity and prices.
 *
 * @example
 * await setVenueOrig(db, orderId, { ...sent.orig, quantity: 4 });
 */
export async function setVenueOrig(db: Db, orderId: string, orig: VenueOrderRow["orig"]): Promise<void> {
  await db.query("update venue_orders set orig = $2, updated_at = now() where order_id = $1", [orderId, orig]);
}

/**
 * Our order with this venue id; undefined for an order we did not place.
 *
 * @example
 * const ours = await venueOrderByVenueId(db, update.order_id);
 */
export async function venueOrderByVenueId(db: Db, venueId: string): Promise<VenueOrderRow | undefined> {
  const [row] = await db.query<VenueOrderRow>(
    "select order_id, tag, venue_order_id, correlation_id, trace_id, orig from venue_orders where venue_order_id = $1",
    [venueId],
  );
  return row;
}

/**
 * Keeps the last status the venue reported for one of our orders.
 *
 * @example
 * await setVenueStatus(db, update.order_id, update.status);
 */
export async function setVenueStatus(db: Db, venueId: string, status: string): Promise<void> {
  await db.query("update venue_orders set venue_status = $2, updated_at = now() where venue_order_id = $1", [venueId, status]);
}

/**
 * Every order we sent, with how to find it in the venue's book.
 *
 * @example
 * const byTag = new Map((await listVenueOrders(db)).map((o) => [o.tag, o.order_id]));
 */
export async function listVenueOrders(db: Db): Promise<VenueOrderKey[]> {
  return db.query<VenueOrderKey>("select order_id, tag, venue_order_id from venue_orders");
}
