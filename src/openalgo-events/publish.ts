/**
 * Our order events as OpenAlgo's order-event messages, so tools written for OpenAlgo's Kafka
 * stream read ours unchanged: every order event becomes an `order_event`; a fill or a rejection
 * also an `order_notification`; a paper order's placement, change, cancel or refusal also an
 * `analyzer_update` (paper is OpenAlgo's analyzer mode). Pure and deterministic: the same event
 * gives the same messages, byte for byte.
 */
import type { AnyEnvelope } from "../events/envelope.ts";
import { AlphaError } from "../errors.ts";
import { orderIdOf, statusOf } from "../orders/lifecycle.ts";
import type { OrderStatus } from "../orders/vocabulary.ts";
import type { InstrumentMaster } from "../market/instruments.ts";
import { openAlgoExchange, openAlgoSymbol } from "../market/openalgo-symbols.ts";
import { toRupees } from "../money.ts";
import { micros, orderStatusWord, OUR_SOURCE, type OpenAlgoMessage } from "./messages.ts";

/** The event types published (the order topics' and risk's refusals); the rest of those topics' types publish nothing. */
export const PUBLISHED_TYPES = ["order.submitted", "order.modified", "order.filled", "order.rejected", "order.cancelled", "order.failed", "signal.rejected"] as const;


/** Which OpenAlgo call an analyzer update answers. */
const API_TYPE: Partial<Record<string, string>> = {
  "order.submitted": "placeorder",
  "order.modified": "modifyorder",
  "order.cancelled": "cancelorder",
  "order.rejected": "placeorder",
  "order.failed": "placeorder",
  "signal.rejected": "placeorder",
};

interface OrderFields {
  strategy_id: string;
  instrument_token: number;
  side: string;
  quantity: number;
  order_type: string;
  price?: number;
  trigger_price?: number;
  product?: string;
}

const money = (paise: number | undefined): string => (paise === undefined ? "0" : toRupees(paise));

/**
 * The OpenAlgo messages for one of our events, for `userId`; [] for an event of the order topics
 * that is not an order's (a refused cancel or modify). Throws PAYLOAD_INVALID when the event
 * cannot be shown in OpenAlgo's terms (its instrument is not in the master): the stage
 * dead-letters it with that reason.
 *
 * @example
 * toOpenAlgoMessages(filled, { userId: "alpha-panda", instruments }); // [order_event, order_notification]
 */
export function toOpenAlgoMessages(event: AnyEnvelope, ctx: { userId: string; instruments: InstrumentMaster }): OpenAlgoMessage[] {
  if (!(PUBLISHED_TYPES as readonly string[]).includes(event.type) || event.broker === "shared") return [];
  const data = event.data as OrderFields & Record<string, unknown>;
  const instrument = ctx.instruments.byToken(data.instrument_token);
  if (!instrument) throw new AlphaError("PAYLOAD_INVALID", `${event.type} ${event.id}: instrument ${data.instrument_token} is not in the instrument master, so it has no OpenAlgo symbol`);
  const status: OrderStatus = statusOf(event) ?? "OPEN";
  const orderid = orderIdOf(event);
  const paper = event.broker === "paper";
  const base = { timestamp: micros(event.ts), user_id: ctx.userId, source: OUR_SOURCE };
  const order = {
    symbol: openAlgoSymbol(instrument),
    exchange: openAlgoExchange(instrument),
    action: data.side,
    orderid,
    quantity: String(data.quantity),
    price: money(data.price),
    trigger_price: money(data.trigger_price),
    pricetype: data.order_type,
    product: data.product ?? "MIS",
    strategy: data.strategy_id,
  };
  const filled = event.type === "order.filled" ? event.data : undefined;
  const refusal = event.type === "order.rejected" || event.type === "order.failed" || event.type === "signal.rejected" ? event.data : undefined;
  const messages: OpenAlgoMessage[] = [
    {
      event_type: "order_event",
      ...base,
      data: {
        ...order,
        // OpenAlgo's Socket.IO order_event names these two so.
        price_type: order.pricetype,
        product_type: order.product,
        mode: paper ? "analyze" : "live",
        broker: event.broker,
        order_status: orderStatusWord(status, data.order_type, filled?.filled_quantity ?? 0),
        status,
        event: event.type,
        event_id: event.id,
        ...(filled && {
          fill_id: filled.fill_id,
          fill_quantity: String(filled.fill_quantity),
          fill_price: toRupees(filled.fill_price),
          filled_quantity: String(filled.filled_quantity),
          pending_quantity: String(Math.max(0, filled.quantity - filled.filled_quantity)),
          fees: toRupees(filled.fees),
        }),
        ...(refusal && { rejection_reason: refusal.message, reason_code: refusal.reason_code }),
      },
    },
  ];
  if (filled) {
    const partly = filled.status === "PARTIALLY_FILLED";
    messages.push({
      event_type: "order_notification",
      ...base,
      data: {
        symbol: order.symbol,
        exchange: order.exchange,
        orderid,
        status: "success",
        message: `${order.action} ${filled.fill_quantity} ${order.symbol} filled at ${toRupees(filled.fill_price)}${partly ? ` (${filled.filled_quantity} of ${filled.quantity})` : ""}`,
        notification_type: partly ? "order_partially_filled" : "order_filled",
      },
    });
  }
  if (refusal) {
    messages.push({
      event_type: "order_notification",
      ...base,
      data: { symbol: order.symbol, exchange: order.exchange, orderid, status: "error", message: refusal.message || refusal.reason_code, notification_type: event.type === "order.failed" ? "order_failed" : "order_rejected" },
    });
  }
  const apiType = API_TYPE[event.type];
  if (paper && apiType) {
    messages.push({
      event_type: "analyzer_update",
      ...base,
      data: {
        request: { ...order, api_type: apiType },
        response: refusal
          ? { mode: "analyze", status: "error", orderid, message: refusal.message || refusal.reason_code }
          : { mode: "analyze", status: "success", orderid, order_status: orderStatusWord(status, data.order_type, filled?.filled_quantity ?? 0) },
      },
    });
  }
  return messages;
}

/**
 * The `master_contract_download` message for an instrument master loaded at start.
 *
 * @example
 * masterContractMessage({ userId: "alpha-panda", broker: "paper", symbols: 500, seconds: 0.4, at: "2026-01-29T03:45:00.000Z" });
 */
export function masterContractMessage(m: { userId: string; broker: string; symbols: number; seconds: number; at: string }): OpenAlgoMessage {
  return {
    event_type: "master_contract_download",
    timestamp: micros(m.at),
    user_id: m.userId,
    source: OUR_SOURCE,
    data: { broker: m.broker, status: "success", message: "Master contract downloaded successfully", symbols_count: m.symbols, download_time_seconds: m.seconds },
  };
}
