/**
 * An OpenAlgo instance's order-event message read into what our orders view shows of it: an
 * `order_event` or a successful `analyzer_update` is an order (created, or its status updated by
 * orderid); the other kinds are valid and show no order. Anything else is malformed, and the
 * reason names the field: the consumer dead-letters it with that reason.
 */
import { toPaise } from "../money.ts";
import { OPENALGO_EVENT_TYPES, type OpenAlgoEventType } from "./messages.ts";

/** An order of an OpenAlgo instance, as its latest message shows it; money in paise. */
export interface OpenAlgoOrder {
  order_id: string;
  user_id: string;
  symbol: string;
  exchange: string | null;
  side: "BUY" | "SELL";
  quantity: number | null;
  price: number | null;
  trigger_price: number | null;
  order_type: string | null;
  product: string | null;
  /** Our status word: OPEN, FILLED, CANCELLED, REJECTED. */
  status: "OPEN" | "FILLED" | "CANCELLED" | "REJECTED";
  /** OpenAlgo's own status word, as sent ("complete", "trigger pending", …), if any. */
  openalgo_status: string | null;
  /** "live" or "analyze". */
  mode: string | null;
  /** The broker the OpenAlgo instance trades (angel, zerodha, …). */
  broker: string | null;
  strategy: string | null;
  filled_quantity: number | null;
  average_price: number | null;
  /** The message's timestamp (UTC, ISO): a message older than the one shown changes nothing. */
  event_ts: string;
  event_type: OpenAlgoEventType;
}

export type Received = { ok: true; kind: OpenAlgoEventType; order?: OpenAlgoOrder } | { ok: false; reason: string };

const bad = (reason: string): Received => ({ ok: false, reason });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : typeof v === "number" && Number.isFinite(v) ? String(v) : undefined);
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/;

/** OpenAlgo's status words (its orderbook's and its brokers') onto ours. */
function statusOf(word: string | undefined): OpenAlgoOrder["status"] {
  switch (word?.toLowerCase()) {
    case "complete":
    case "completed":
    case "filled":
    case "traded":
      return "FILLED";
    case "cancelled":
    case "canceled":
      return "CANCELLED";
    case "rejected":
    case "error":
      return "REJECTED";
    default:
      return "OPEN";
  }
}

/** A whole quantity ≥ 0 from "10" or 10; undefined when absent; a reason when it is not one. */
function quantity(v: unknown, path: string): number | undefined | string {
  if (v === undefined || v === null || v === "") return undefined;
  const t = text(v);
  if (t === undefined || !/^\d{1,12}$/.test(t)) return `${path} must be a whole quantity, got ${JSON.stringify(v)}`;
  return Number(t);
}

/** Rupees ("850.50" or 850.5) as exact paise; undefined when absent; a reason when not an amount. */
function rupees(v: unknown, path: string): number | undefined | string {
  if (v === undefined || v === null || v === "") return undefined;
  const t = text(v);
  try {
    if (t === undefined) throw new Error();
    return toPaise(t);
  } catch {
    return `${path} must be an amount in rupees with at most 2 decimals, got ${JSON.stringify(v)}`;
  }
}

/**
 * @example
 * receive('{"event_type":"order_event","timestamp":"…","user_id":"u1","data":{"symbol":"SBIN-EQ","action":"BUY","orderid":"1"}}');
 * // { ok: true, kind: "order_event", order: { order_id: "1", status: "OPEN", … } }
 */
export function receive(bytes: Uint8Array | string): Received {
  let msg: unknown;
  try {
    msg = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch {
    return bad("not JSON");
  }
  if (!isObject(msg)) return bad("not a JSON object");
  const kind = msg.event_type;
  if (typeof kind !== "string" || !(OPENALGO_EVENT_TYPES as readonly string[]).includes(kind)) return bad(`event_type must be one of ${OPENALGO_EVENT_TYPES.join(", ")}, got ${JSON.stringify(kind)}`);
  if (typeof msg.timestamp !== "string" || !ISO_UTC.test(msg.timestamp) || Number.isNaN(Date.parse(msg.timestamp))) return bad(`timestamp must be an ISO 8601 time, got ${JSON.stringify(msg.timestamp)}`);
  const userId = text(msg.user_id);
  if (!userId) return bad(`user_id must be a non-empty string, got ${JSON.stringify(msg.user_id)}`);
  if (!isObject(msg.data)) return bad("data must be an object");
  const eventType = kind as OpenAlgoEventType;
  const at = new Date(Date.parse(msg.timestamp)).toISOString();
  if (eventType === "order_event") return orderFrom(msg.data, msg.data, {}, userId, at, eventType);
  if (eventType === "analyzer_update") {
    const { request, response } = msg.data;
    if (!isObject(request)) return bad("data.request must be an object");
    if (!isObject(response)) return bad("data.response must be an object");
    // A refused analyzer call placed no order: valid, and nothing to show.
    if (text(response.status)?.toLowerCase() === "error" && text(response.orderid) === undefined) return { ok: true, kind: eventType };
    return orderFrom(request, { ...response, order_status: response.order_status ?? (text(response.status) === "error" ? "rejected" : undefined) }, { mode: "analyze" }, userId, at, eventType, "data.request.", "data.response.");
  }
  return { ok: true, kind: eventType };
}

function orderFrom(
  fields: Record<string, unknown>,
  outcome: Record<string, unknown>,
  defaults: { mode?: string },
  userId: string,
  at: string,
  eventType: OpenAlgoEventType,
  fieldPath = "data.",
  outcomePath = "data.",
): Received {
  const symbol = text(fields.symbol);
  if (!symbol) return bad(`${fieldPath}symbol must be a non-empty string, got ${JSON.stringify(fields.symbol)}`);
  const action = text(fields.action)?.toUpperCase();
  if (action !== "BUY" && action !== "SELL") return bad(`${fieldPath}action must be BUY or SELL, got ${JSON.stringify(fields.action)}`);
  const orderId = text(outcome.orderid);
  if (!orderId) return bad(`${outcomePath}orderid must be a non-empty string, got ${JSON.stringify(outcome.orderid)}`);
  const numbers = {
    quantity: quantity(fields.quantity, `${fieldPath}quantity`),
    filled_quantity: quantity(outcome.filled_quantity, `${outcomePath}filled_quantity`),
    price: rupees(fields.price, `${fieldPath}price`),
    trigger_price: rupees(fields.trigger_price, `${fieldPath}trigger_price`),
    average_price: rupees(outcome.average_price, `${outcomePath}average_price`),
  };
  for (const v of Object.values(numbers)) if (typeof v === "string") return bad(v);
  const n = numbers as Record<keyof typeof numbers, number | undefined>;
  const openalgoStatus = text(outcome.order_status) ?? null;
  return {
    ok: true,
    kind: eventType,
    order: {
      order_id: orderId,
      user_id: userId,
      symbol,
      exchange: text(fields.exchange) ?? null,
      side: action,
      quantity: n.quantity ?? null,
      price: n.price ?? null,
      trigger_price: n.trigger_price ?? null,
      order_type: text(fields.pricetype ?? fields.price_type) ?? null,
      product: text(fields.product ?? fields.product_type) ?? null,
      status: statusOf(openalgoStatus ?? undefined),
      openalgo_status: openalgoStatus,
      mode: text(outcome.mode) ?? defaults.mode ?? null,
      broker: text(fields.broker ?? outcome.broker) ?? null,
      strategy: text(fields.strategy) ?? null,
      filled_quantity: n.filled_quantity ?? null,
      average_price: n.average_price ?? null,
      event_ts: at,
      event_type: eventType,
    },
  };
}
