/**
 * OpenAlgo's order-event messages (its `utils/event_publisher.py` Kafka publisher): one JSON
 * object per message, keyed by `user_id`, with five kinds. We write them (src/openalgo-events/
 * publish.ts) and read them (receive.ts); the field names are OpenAlgo's, never renamed.
 *
 * @example
 * { "event_type": "order_event", "timestamp": "2026-01-29T10:30:45.123456Z", "user_id": "user123",
 *   "source": "openalgo", "data": { "symbol": "SBIN-EQ", "action": "BUY", "orderid": "ORD123456", … } }
 */

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
 * Our ISO milliseconds as OpenAlgo's microseconds: "…45.123Z" → "…45.123000Z" (deterministic, so
 * a redelivered event publishes the same bytes).
 */
export const micros = (iso: string): string => iso.replace(/\.(\d{3})Z$/, ".$1000Z");
