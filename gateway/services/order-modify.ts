/**
 * Sending a modify: an `order.modify` command, the order as it would be after the change, on the
 * broker's signals.raw keyed by instrument token (the order's own partition, so risk sees it after
 * the order's signal). Sent like a cancel, not through the outbox: bounded, 503 when the log does
 * not answer, and one that reaches the log after that 503 is harmless (it sets the same values).
 */
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import { bounded } from "../../src/errors.ts";
import type { Producer } from "../../src/log/port.ts";
import { topicName } from "../../src/topics.ts";
import type { OrderView, Services } from "../api/services.ts";
import { LOG_WAIT_MS } from "./budgets.ts";

/** Whether the order was placed after-market: its first event (the signal) says so. */
const placedAfterMarket = (order: OrderView): boolean => (order.events?.[0]?.data as { amo?: boolean } | undefined)?.amo === true;

/**
 * @example
 * const modify = modifySender({ producer });
 * await modify(order, { quantity: 5, order_type: "LIMIT", price: 245_500, changed: ["quantity"] });
 */
export function modifySender(deps: { producer: Producer }): Services["orders"]["modify"] {
  return async (order, next) => {
    const key = String(order.instrument_token);
    const command = createEvent(
      {
        type: "order.modify",
        source: "gateway",
        broker: order.broker,
        key,
        data: {
          order_id: order.order_id,
          signal_id: order.order_id,
          strategy_id: order.strategy_id,
          instrument_token: order.instrument_token,
          side: order.side,
          quantity: next.quantity,
          order_type: next.order_type,
          ...(next.price !== undefined ? { price: next.price } : {}),
          ...(next.trigger_price !== undefined ? { trigger_price: next.trigger_price } : {}),
          ...(placedAfterMarket(order) ? { amo: true } : {}),
          filled_quantity: order.filled_quantity,
          changed: next.changed,
        },
      },
      { correlation_id: order.correlation_id },
    );
    await bounded(deps.producer.send([{ topic: topicName("signalsRaw", order.broker), key, value: encodeEnvelope(command) }]), LOG_WAIT_MS, "LOG_UNAVAILABLE", "cannot send the modify: the log did not answer");
  };
}
