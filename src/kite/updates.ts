/**
 * Kite's view of an order (a postback, a ticker order message, a row of GET /orders) and its
 * trades, turned into our lifecycle events. Every event id is derived from the order's
 * correlation id and what happened (submitted, trade N, cancelled, rejected), so the same update
 * arriving three ways (postback, ticker, reconciliation) is the same events, and the pipeline's
 * dedup and the ledger's keys keep exactly one of each. Fills are Kite's trades (exact prices,
 * one fill each); fees come from our fee model, since Kite reports charges per contract note.
 */
import type { VenueOrderRow } from "../store/venue-orders.ts";
import type { Envelope } from "../events/envelope.ts";
import { ENVELOPE_VERSION } from "../events/envelope.ts";
import { derivedId } from "../events/ids.ts";
import type { EventType, PayloadOf } from "../events/payloads.ts";
import { fees } from "../execution/index.ts";
import { topicCarrying, topicName } from "../topics.ts";
import type { KiteOrder, KiteTrade } from "./rest/schemas.ts";

/** Our order as sent to Kite: the columns of venue_orders. */
export type VenueOrder = VenueOrderRow;

/** Kite statuses after which nothing more happens to an order. */
const FINAL = new Set(["COMPLETE", "CANCELLED", "REJECTED"]);

export interface Published {
  topic: string;
  event: Envelope;
}

/**
 * @example
 * for (const { topic, event } of lifecycleEvents(row, kiteOrder, trades)) publish(topic, event);
 */
export function lifecycleEvents(row: VenueOrder, order: Pick<KiteOrder, "order_id" | "status" | "status_message">, trades: readonly KiteTrade[]): Published[] {
  const o = row.orig;
  const out: Published[] = [];
  const emit = <T extends EventType>(type: T, what: string, data: PayloadOf<T>) => {
    const event: Envelope<T> = {
      id: derivedId(row.correlation_id, `kite/${what}`),
      type,
      ts: new Date().toISOString(),
      correlation_id: row.correlation_id,
      causation_id: null,
      trace_id: row.trace_id,
      source: "kite",
      version: ENVELOPE_VERSION,
      broker: "zerodha",
      key: String(o.instrument_token),
      data,
    };
    out.push({ topic: topicName(topicCarrying(type), "zerodha"), event: event as Envelope });
  };

  if (order.status === "REJECTED") {
    emit("order.rejected", "rejected", { ...o, reason_code: "VENUE_REJECTED", message: order.status_message ?? "rejected by the exchange" });
    return out;
  }
  emit("order.submitted", "submitted", { ...o, venue_order_id: order.order_id });
  // Trades in the order they happened; the cumulative quantity says partial or whole.
  let filled = 0;
  const sorted = [...trades].sort((a, b) => (a.fill_timestamp ?? "").localeCompare(b.fill_timestamp ?? "") || a.trade_id.localeCompare(b.trade_id));
  for (const t of sorted) {
    filled += t.quantity;
    emit("order.filled", `trade/${t.trade_id}`, {
      ...o,
      fill_id: `kite-${t.trade_id}`,
      fill_quantity: t.quantity,
      fill_price: t.average_price,
      filled_quantity: filled,
      fees: fees(o.side, t.average_price, t.quantity).total,
      status: filled >= o.quantity ? "FILLED" : "PARTIALLY_FILLED",
    });
  }
  if (order.status === "CANCELLED") emit("order.cancelled", "cancelled", { ...o, reason: order.status_message ?? "cancelled" });
  return out;
}

export const isFinal = (status: string): boolean => FINAL.has(status);
