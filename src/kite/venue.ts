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
import { listVenueOrders, recordVenueOrder, setVenueId, venueIdOf } from "../store/venue-orders.ts";
import { KiteError, RELOGIN_HINT } from "./rest/errors.ts";
import { kiteTag } from "./rest/params.ts";
import type { KiteClient } from "./rest/client.ts";

type OrderFields = PayloadOf<"order.submitted">;

/** Kite's statuses of an order that can still be cancelled. */
const KITE_OPEN_STATUSES = new Set(["OPEN", "TRIGGER PENDING", "OPEN PENDING", "MODIFY PENDING", "VALIDATION PENDING", "PUT ORDER REQ RECEIVED", "AMO REQ RECEIVED"]);

export type VenueEvent =
  | { type: "order.submitted"; data: PayloadOf<"order.submitted"> }
  | { type: "order.rejected"; data: PayloadOf<"order.rejected"> }
  | { type: "order.failed"; data: PayloadOf<"order.failed"> }
  | { type: "order.cancel_rejected"; data: { order_id: string; reason_code: string; message: string } };

/** What the venue needs of the Kite REST client. */
export type KiteOrders = Pick<KiteClient, "placeOrder" | "cancelOrder" | "orders">;

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
      const venueId = await this.kite.placeOrder("regular", {
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
    const venueId = await venueIdOf(this.db, orderId);
    if (!venueId) return [{ type: "order.cancel_rejected", data: { order_id: orderId, reason_code: "UNKNOWN_ORDER", message: "no such order at Kite" } }];
    try {
      await this.kite.cancelOrder("regular", venueId);
      return []; // Kite confirms the cancel with an order update.
    } catch (err) {
      const message = err instanceof KiteError ? err.message : (err as Error).message;
      return [{ type: "order.cancel_rejected", data: { order_id: orderId, reason_code: "VENUE_REFUSED", message } }];
    }
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
