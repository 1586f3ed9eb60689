/**
 * Orders placed through the API are written to the orders table (PENDING, their client_order_id
 * under a unique index, so a repeat returns the first order) together with an outbox row, in one
 * statement, and then published to `{broker}.signals.raw` like any strategy's signal by the order
 * relay (gateway/outbox.ts): an acknowledged order is sent at least once whatever crashes.
 * Reads come from the orders read model (src/store/orders.ts, gateway/services/orders-view.ts).
 */
import { isFinal } from "../../src/orders/vocabulary.ts";
import type { Sql } from "postgres";
import { createEvent, encodeEnvelope, newId } from "../../src/events/envelope.ts";
import { AlphaError, bounded, within } from "../../src/errors.ts";
import type { Producer } from "../../src/log/port.ts";
import type { Logger } from "../../src/logger.ts";
import { storeError } from "../../src/store/errors.ts";
import { orderById, orderEvents, ordersPage, storedOrder } from "../../src/store/orders.ts";
import { insertOrder, orderByClientId, voidOrder } from "../../src/store/outbox.ts";
import { withinStore } from "../../src/store/wait.ts";
import { topicName } from "../../src/topics.ts";
import type { OrderView, PlaceOrder, Services } from "../api/services.ts";
import type { OrderRelay } from "../outbox.ts";
import { LOG_WAIT_MS, PLACE_DOUBT_WAIT_MS, PLACE_SEND_WAIT_MS, PLACE_STORE_WAIT_MS, REACH_WAIT_MS, SERVICE_WAIT_MS } from "./budgets.ts";
import { modifySender } from "./order-modify.ts";
import { cursorBelow, orderView, seqOfCursor } from "./orders-view.ts";

/** How long an insert in doubt is tried to be undone (while the database is down). */
const UNDO_TRY_MS = 300_000;
/** Statuses an order does not leave: a cancel of one is a conflict. */

/** Errors that prove a statement never reached the server (so it cannot have committed). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "CONNECT_TIMEOUT", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const errorCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
const neverSent = (err: unknown): boolean => {
  const code = errorCode(err);
  return typeof code === "string" && NOT_SENT_CODES.has(code);
};

const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms));

export interface OrderService {
  /** Everything but cancel-all, which square-off.ts adds. */
  orders: Omit<Services["orders"], "cancelAll">;
  /** The order once it has left PENDING (the exchange has it), or as it is after REACH_WAIT_MS. */
  reached(order: OrderView): Promise<OrderView>;
  /** Waits (bounded) for the undos of inserts in doubt, then stops them. */
  close(): Promise<void>;
}

/**
 * @example
 * const { orders } = orderService({ sql: store.sql, producer, logger, relay, sendTimeoutMs: 30_000 });
 * const { order, created } = await orders.place(cmd);
 */
export function orderService(deps: { sql: Sql; producer: Producer; logger: Logger; relay: OrderRelay; sendTimeoutMs: number }): OrderService {
  const { sql, relay } = deps;
  let closed = false;
  /** Undos of inserts in doubt still running: close waits for them (bounded). */
  const undos = new Set<Promise<void>>();

  const read = async (orderId: string): Promise<OrderView | undefined> => {
    const order = await withinStore(orderById(sql, orderId), "cannot read the order");
    return order && orderView(order);
  };

  async function reached(order: OrderView): Promise<OrderView> {
    const deadline = Date.now() + REACH_WAIT_MS;
    let now = order;
    while (now.status === "PENDING" && Date.now() < deadline) {
      await sleep(10);
      now = (await read(order.order_id)) ?? now;
    }
    return now;
  }

  /**
   * Waits for an order's insert, within the POST's budget. When it has no answer in time its
   * outcome is awaited a little longer: committed → the order is durable, the answer 202; failed →
   * 503, no order. Still no outcome, or a connection lost mid-statement, is in doubt: the answer
   * is 503, and the order is undone in the background (`undo`) so that a 503 never leaves an order
   * behind, unless a retry with its client_order_id adopts it first.
   */
  async function durable(insert: ReturnType<typeof insertOrder>, orderId: string) {
    const settled = insert.then(
      (rows) => ({ rows }),
      (err: unknown) => ({ err }),
    );
    const outcome = (await within(settled, PLACE_STORE_WAIT_MS)) ?? (await within(settled, PLACE_DOUBT_WAIT_MS));
    if (outcome && "rows" in outcome) return outcome.rows;
    // Never reached the server, or cancelled by the server before it committed (57014), or
    // refused by it (a bug, bad data): no order.
    if (outcome && (neverSent(outcome.err) || errorCode(outcome.err) === "57014")) {
      throw new AlphaError("STORE_UNAVAILABLE", `cannot place the order: database unavailable: ${(outcome.err as Error).message}`, { canRetry: true, cause: outcome.err });
    }
    if (outcome && !(storeError(outcome.err, "") instanceof AlphaError)) throw outcome.err;
    relay.hold(orderId);
    const undoing = settled.then(() => undo(orderId));
    undos.add(undoing);
    void undoing.finally(() => undos.delete(undoing));
    throw new AlphaError("STORE_UNAVAILABLE", "cannot place the order: the database did not confirm it in time, so it was not accepted", { canRetry: true, cause: outcome?.err });
  }

  /** Removes an order whose insert was in doubt when the API answered 503, once the database answers. */
  async function undo(orderId: string): Promise<void> {
    const until = Date.now() + UNDO_TRY_MS;
    while (Date.now() < until && !closed && relay.isHeld(orderId)) {
      try {
        if (await withinStore(voidOrder(sql, orderId), "undo an order in doubt", 5_000)) {
          deps.logger.warn({ order_id: orderId }, "removed an order whose insert was confirmed after the API answered 503");
        }
        relay.release(orderId);
        return;
      } catch {
        await sleep(1_000);
      }
    }
  }

  async function place(cmd: PlaceOrder): Promise<{ order: OrderView; created: boolean }> {
    const startedAt = Date.now();
    const orderId = newId();
    const key = String(cmd.instrument_token);
    const expiresAt = startedAt + deps.sendTimeoutMs;
    const event = createEvent(
      {
        type: "signal.generated",
        source: "gateway",
        broker: cmd.broker,
        key,
        data: {
          signal_id: orderId,
          strategy_id: cmd.strategy_id,
          instrument_token: cmd.instrument_token,
          side: cmd.side,
          quantity: cmd.quantity,
          order_type: cmd.order_type,
          ...(cmd.price !== undefined ? { price: cmd.price } : {}),
          ...(cmd.trigger_price !== undefined ? { trigger_price: cmd.trigger_price } : {}),
          ...(cmd.product ? { product: cmd.product } : {}),
          ...(cmd.amo ? { amo: true } : {}),
          ...(cmd.client_order_id ? { client_order_id: cmd.client_order_id } : {}),
          ...(cmd.reduce_only ? { reduce_only: true } : {}),
          expires_at: new Date(expiresAt).toISOString(),
        },
      },
      {},
    );
    const message = { event_id: event.id, order_id: orderId, topic: topicName("signalsRaw", cmd.broker), key, envelope: encodeEnvelope(event), expires_at: expiresAt };
    // The order, its first event and its outbox row in one statement (one round trip, one
    // transaction); nothing when the client_order_id is taken.
    const inserted = await durable(
      insertOrder(sql, { ...cmd, order_id: orderId, correlation_id: event.correlation_id }, { event_id: event.id, type: event.type, ts: event.ts, data: event.data }, message, relay.leaseMs),
      orderId,
    );
    if (inserted.length === 0) {
      // The client_order_id is taken: that order is the answer. Not sent yet (a crash, the log
      // down): a retry asks for it to be sent now.
      const wait = Math.max(100, SERVICE_WAIT_MS - 200 - (Date.now() - startedAt));
      const [first] = await withinStore(orderByClientId(sql, cmd.broker, cmd.client_order_id ?? ""), "cannot read the order with this client_order_id", wait);
      // Gone between the insert and this read: an insert in doubt undone meanwhile. Retrying
      // places it afresh.
      if (!first) throw new AlphaError("STORE_UNAVAILABLE", "cannot place the order: the order with this client_order_id was being undone; retry", { canRetry: true });
      if (first.unsent) {
        // A retry of an order whose insert was in doubt adopts it: it is sent, not undone.
        const firstId = String(first.order_id);
        relay.release(firstId);
        relay.resend(firstId).catch((err: unknown) => deps.logger.warn({ err: (err as Error).message, order_id: firstId }, "could not claim a retried order's send; the relay sends it"));
      }
      return { order: orderView(storedOrder(first)), created: false };
    }
    // The order is durable: the answer is 202 whatever happens to this send (the relay sends it
    // again until the log has it or its deadline passes).
    await relay.sendNow(message, PLACE_SEND_WAIT_MS);
    return { order: orderView(storedOrder(inserted[0]!)), created: true };
  }

  const orders: OrderService["orders"] = {
    place,
    async list(query) {
      const beforeSeq = query.cursor ? seqOfCursor(query.cursor) : undefined;
      const rows = await withinStore(
        ordersPage(sql, { broker: query.broker, status: query.status, strategy_id: query.strategy_id, beforeSeq, limit: query.limit + 1 }),
        "cannot list orders",
      );
      const page = rows.slice(0, query.limit);
      const next = rows.length > query.limit ? cursorBelow(page[page.length - 1]!.seq) : null;
      return { orders: page.map(orderView), next_cursor: next };
    },
    async get(orderId) {
      const order = await read(orderId);
      if (!order) return undefined;
      const events = await withinStore(orderEvents(sql, orderId), "cannot read the order's events");
      order.events = events;
      return order;
    },
    async cancel(orderId) {
      const found = await read(orderId);
      if (!found) return undefined;
      const t0 = Date.now();
      const order = await reached(found);
      // The wait for the exchange comes out of the send's budget: the answer stays within 2 s.
      const sendWaitMs = LOG_WAIT_MS - Math.min(Date.now() - t0, REACH_WAIT_MS);
      if (isFinal(order.status)) {
        throw new AlphaError("CONFLICT", `order ${orderId} is ${order.status}: only an open order can be cancelled`);
      }
      const key = String(order.instrument_token);
      const cancel = createEvent(
        { type: "order.cancel", source: "gateway", broker: order.broker, key, data: { order_id: orderId, instrument_token: order.instrument_token, reason: "cancelled through the API" } },
        { correlation_id: order.correlation_id },
      );
      // A cancel that reaches the log after our 503 is harmless: cancelling twice is a no-op.
      await bounded(deps.producer.send([{ topic: topicName("orderCommands", order.broker), key, value: encodeEnvelope(cancel) }]), sendWaitMs, "LOG_UNAVAILABLE", "cannot send the cancel: the log did not answer");
      return order;
    },
    modify: modifySender({ producer: deps.producer }),
  };

  return {
    orders,
    reached,
    async close() {
      // An insert in doubt left behind would be sent by the next relay: give its undo a moment.
      await Promise.race([Promise.allSettled([...undos]), sleep(2_000)]);
      closed = true;
    },
  };
}
