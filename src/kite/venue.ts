/**
 * Sending zerodha orders to Kite Connect, for the execution stage. Each order is first recorded
 * in `venue_orders` with a tag derived from its id; Kite echoes the tag, so an order placed just
 * before a crash is found again in the order book instead of being placed twice. What Kite says
 * becomes an event: accepted → order.submitted; refused (input, order, margin) → order.rejected
 * with Kite's message; unreachable → order.failed; an expired session → order.failed and the
 * zerodha namespace stops sending orders until a new login. Fills, cancels and later rejections
 * arrive as order updates (postbacks, ticker messages, reconciliation): see updates.ts.
 */
import type { Product } from "../orders/vocabulary.ts";
import type { PayloadOf } from "../events/payloads.ts";
import type { InstrumentMaster } from "../market/instruments.ts";
import type { Logger } from "../logger.ts";
import type { Db } from "../store/db.ts";
import { listVenueOrders, recordVenueOrder, setVenueId, setVenueOrig, venueIdOf, venueOrderOf } from "../store/venue-orders.ts";
import { KiteError, RELOGIN_HINT } from "./rest/errors.ts";
import { kiteTag, type Variety } from "./rest/params.ts";
import type { KiteClient } from "./rest/client.ts";

type OrderFields = PayloadOf<"order.submitted">;

/**
 * Kite's variety for our order: an after-market order is placed, changed and cancelled as "amo"
 * (Kite finds an order only under the variety it was placed with).
 *
 * @example
 * await kite.cancelOrder(varietyOf(sent.orig), venueId);
 */
export const varietyOf = (o: Pick<OrderFields, "amo">): Variety => (o.amo ? "amo" : "regular");

/** Kite's statuses of an order that can still be cancelled. */
const KITE_OPEN_STATUSES = new Set(["OPEN", "TRIGGER PENDING", "OPEN PENDING", "MODIFY PENDING", "VALIDATION PENDING", "PUT ORDER REQ RECEIVED", "AMO REQ RECEIVED"]);

export type VenueEvent =
  | { type: "order.submitted"; data: PayloadOf<"order.submitted"> }
  | { type: "order.rejected"; data: PayloadOf<"order.rejected"> }
  | { type: "order.failed"; data: PayloadOf<"order.failed"> }
  | { type: "order.cancel_rejected"; data: { order_id: string; reason_code: string; message: string } }
  | { type: "order.modified"; data: PayloadOf<"order.modified"> }
  | { type: "order.modify_rejected"; data: PayloadOf<"order.modify_rejected"> };

/** What the venue needs of the Kite REST client. */
export type KiteOrders = Pick<KiteClient, "placeOrder" | "modifyOrder" | "cancelOrder" | "orders">;

export class KiteVenue {
  /** Why zerodha stopped sending orders (an expired session), until a restart with a new token. */
  blocked: string | undefined;

  constructor(
    private readonly db: Db,
    private readonly kite: KiteOrders,
    private readonly logger: Logger,
    private readonly instruments: Pick<InstrumentMaster, "byToken">,
  ) {}

  async submit(o: OrderFields, lineage: { correlation_id: string; trace_id: string }, product: Product = "MIS"): Promise<VenueEvent[]> {
    if (this.blocked) return [{ type: "order.failed", data: { ...o, reason_code: "KITE_SESSION_EXPIRED", message: this.blocked } }];
    const inst = this.instruments.byToken(o.instrument_token);
    if (!inst) return [{ type: "order.rejected", data: { ...o, reason_code: "UNKNOWN_INSTRUMENT", message: `instrument ${o.instrument_token} is not in the master` } }];
    const tag = kiteTag(o.order_id);
    const fresh = await recordVenueOrder(this.db, "zerodha", { order_id: o.order_id, tag, correlation_id: lineage.correlation_id, trace_id: lineage.trace_id, orig: o });
    if (!fresh) {
      // Seen before: placed already, or perhaps placed just before a crash. Kite's book decides.
      const known = (await venueIdOf(this.db, o.order_id)) ?? (await this.kite.orders()).find((k) => k.tag === tag)?.order_id;
      if (known) {
        await this.remember(o.order_id, known);
        return [{ type: "order.submitted", data: { ...o, venue_order_id: known } }];
      }
    }
    try {
      const venueId = await this.kite.placeOrder(varietyOf(o), {
        exchange: inst.exchange,
        tradingsymbol: inst.tradingsymbol,
        transaction_type: o.side,
        order_type: o.order_type,
        quantity: o.quantity,
        product,
        validity: "DAY",
        price: o.price,
        trigger_price: o.trigger_price,
        tag,
      });
      await this.remember(o.order_id, venueId);
      return [{ type: "order.submitted", data: { ...o, venue_order_id: venueId } }];
    } catch (err) {
      return this.refused(o, err);
    }
  }

  async cancel(orderId: string): Promise<VenueEvent[]> {
    const sent = await venueOrderOf(this.db, orderId);
    const venueId = sent?.venue_order_id;
    if (!sent || !venueId) return [{ type: "order.cancel_rejected", data: { order_id: orderId, reason_code: "UNKNOWN_ORDER", message: "no such order at Kite" } }];
    try {
      await this.kite.cancelOrder(varietyOf(sent.orig), venueId);
      return []; // Kite confirms the cancel with an order update.
    } catch (err) {
      const message = err instanceof KiteError ? err.message : (err as Error).message;
      return [{ type: "order.cancel_rejected", data: { order_id: orderId, reason_code: "VENUE_REFUSED", message } }];
    }
  }

  /**
   * Kite's PUT /orders/:variety/:id (the variety it was placed under) with the order's new quantity, type and prices; accepted →
   * order.modified (and the recorded order changes, so Kite's later updates are read against it),
   * refused → order.modify_rejected with Kite's words. Sending it again sets the same values.
   */
  async modify(m: PayloadOf<"order.modify_validated">): Promise<VenueEvent[]> {
    const refuse = (reason_code: string, message: string): VenueEvent[] => [
      { type: "order.modify_rejected", data: { order_id: m.order_id, instrument_token: m.instrument_token, reason_code, message } },
    ];
    if (this.blocked) return refuse("KITE_SESSION_EXPIRED", this.blocked);
    const sent = await venueOrderOf(this.db, m.order_id);
    if (!sent?.venue_order_id) return refuse("UNKNOWN_ORDER", "no such order at Kite");
    try {
      await this.kite.modifyOrder(varietyOf(sent.orig), sent.venue_order_id, { quantity: m.quantity, order_type: m.order_type, price: m.price, trigger_price: m.trigger_price });
    } catch (err) {
      if (!(err instanceof KiteError)) return refuse("VENUE_REFUSED", (err as Error).message);
      if (err.kind === "token") {
        this.blocked = `zerodha stopped sending orders: ${RELOGIN_HINT}`;
        this.logger.error({ err: err.message }, this.blocked);
        return refuse("KITE_SESSION_EXPIRED", this.blocked);
      }
      return refuse(err.kind === "rejected" ? "VENUE_REFUSED" : err.code, err.message);
    }
    const { price: _price, trigger_price: _trigger, ...rest } = sent.orig;
    const next: OrderFields = {
      ...rest,
      quantity: m.quantity,
      order_type: m.order_type,
      ...(m.price !== undefined ? { price: m.price } : {}),
      ...(m.trigger_price !== undefined ? { trigger_price: m.trigger_price } : {}),
    };
    await setVenueOrig(this.db, m.order_id, next);
    const { venue_order_id: _venueId, ...modified } = next;
    return [{ type: "order.modified", data: modified }];
  }

  /**
   * Cancels our open orders of one instrument and product in Kite's book (the day's end: its MIS
   * orders); orders placed elsewhere (Kite's own apps) are left alone. Kite confirms each cancel
   * with an order update.
   */
  async cancelOpen(token: number, product: Product): Promise<VenueEvent[]> {
    const open = (await this.kite.orders()).filter((k) => k.instrument_token === token && k.product === product && KITE_OPEN_STATUSES.has(k.status) && k.tag);
    if (open.length === 0) return [];
    const ours = new Map((await listVenueOrders(this.db)).map((o) => [o.tag, o.order_id]));
    const out: VenueEvent[] = [];
    for (const k of open) {
      const orderId = ours.get(k.tag!);
      if (orderId !== undefined) out.push(...(await this.cancel(orderId)));
    }
    return out;
  }

  private async remember(orderId: string, venueId: string): Promise<void> {
    await setVenueId(this.db, orderId, venueId);
  }

  private refused(o: OrderFields, err: unknown): VenueEvent[] {
    if (!(err instanceof KiteError)) throw err;
    switch (err.kind) {
      case "rejected":
        return [{ type: "order.rejected", data: { ...o, reason_code: "VENUE_REJECTED", message: err.message } }];
      case "token":
        this.blocked = `zerodha stopped sending orders: ${RELOGIN_HINT}`;
        this.logger.error({ err: err.message }, this.blocked);
        return [{ type: "order.failed", data: { ...o, reason_code: "KITE_SESSION_EXPIRED", message: this.blocked } }];
      default:
        // network, throttled, ambiguous (the order may exist at Kite: reconciliation finds it
        // by its tag), bad_response, general.
        return [{ type: "order.failed", data: { ...o, reason_code: err.code, message: err.message } }];
    }
  }
}
