/**
 * OpenAlgo's order-event messages (its `utils/event_publisher.py` Kafka publisher): one JSON
 * object per message, keyed by `user_id`, with five kinds. We write them (src/openalgo-events/
 * publish.ts) and read them (receive.ts); the field names are OpenAlgo's, never renamed.
 *
 * @example
 * { "event_type": "order_event", "timestamp": "2026-01-29T10:30:45.123456Z", "user_id": "user123",
 *   "source": "openalgo", "data": { "symbol": "SBIN-EQ", "action": "BUY", "orderid": "ORD123456", … } }
 */
import type { OrderStatus } from "../orders/vocabulary.ts";

/** The kinds OpenAlgo publishes. */
export const OPENALGO_EVENT_TYPES = ["order_event", "analyzer_update", "order_notification", "master_contract_download", "password_change"] as const;
export type OpenAlgoEventType = (typeof OPENALGO_EVENT_TYPES)[number];

export interface OpenAlgoMessage {
  event_type: OpenAlgoEventType;
  /** UTC with microseconds, as Python's isoformat() writes it: "2026-01-29T10:30:45.123456Z". */
  timestamp: string;
  user_id: string;
  /** Who published it: "openalgo" for OpenAlgo, {@link OUR_SOURCE} for us. */
  source: string;
  data: Record<string, unknown>;
}

/** The `source` of the messages we publish. */
export const OUR_SOURCE = "alpha-panda";

/** OpenAlgo's order statuses (its orderbook's `order_status`), lower case as it writes them. */
export const OPENALGO_ORDER_STATUSES = ["open", "complete", "cancelled", "rejected", "trigger pending"] as const;

/**
 * Our status in OpenAlgo's words, as its books, orderstatus and order events answer it: an open
 * stop order with nothing filled is "trigger pending" (we cannot tell a triggered stop from one
 * waiting), any other open order "open".
 *
 * @example
 * orderStatusWord("OPEN", "SL", 0); // "trigger pending"
 */
export function orderStatusWord(status: OrderStatus, orderType: string, filled: number): (typeof OPENALGO_ORDER_STATUSES)[number] {
  switch (status) {
    case "FILLED":
      return "complete";
    case "CANCELLED":
      return "cancelled";
    case "REJECTED":
    case "FAILED":
      return "rejected";
    default:
      return (orderType === "SL" || orderType === "SL-M") && filled === 0 ? "trigger pending" : "open";
  }
}

/**
 * Our ISO milliseconds as OpenAlgo's microseconds: "…45.123Z" → "…45.123000Z" (deterministic, so
 * a redelivered event publishes the same bytes).
 */
export const micros = (iso: string): string => iso.replace(/\.(\d{3})Z$/, ".$1000Z");
