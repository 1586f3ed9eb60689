/**
 * An order's lifecycle as a pure fold: `evolve(order, event)` is the order after one of its
 * events. Topics are read in parallel, so an order's events may arrive out of order; the rules make
 * the result the same whatever order they come in:
 * - a status only moves forward (PENDING → OPEN → PARTIALLY_FILLED → a final status), and the
 *   first final status wins;
 * - fill quantities and values add up; the last reason and message given win;
 * - an order is made from its first event (the API's orders already exist when it is placed);
 * - an `order.modified` sets its quantity, type and prices; a refused modify changes nothing.
 * The send deadline adds two rules, below ({@link SEND_TIMEOUT}).
 */
import type { AnyEnvelope } from "../events/envelope.ts";
import type { Paise } from "../money.ts";
import { SEND_TIMEOUT } from "../risk/expiry.ts";
import { isFinal, ORDER_STATUSES, type OrderStatus, type OrderType, type Product, type Side } from "./vocabulary.ts";

/** An order as its lifecycle events leave it; money in paise. */
export interface Order {
  order_id: string;
  broker: string;
  strategy_id: string;
  instrument_token: number;
  side: Side;
  quantity: number;
  order_type: OrderType;
  price: Paise | null;
  trigger_price: Paise | null;
  product: Product | null;
  status: OrderStatus;
  reason_code: string | null;
  message: string | null;
  correlation_id: string;
  filled_quantity: number;
  /** Σ fill quantity × fill price: the average price is filled_value / filled_quantity. */
  filled_value: Paise;
  /** The first event's time (ISO). */
  created_at: string;
}

/** The payload fields of a lifecycle event the fold reads. */
interface LifecycleData {
  order_id?: string;
  signal_id?: string;
  strategy_id: string;
  instrument_token: number;
  side: Side;
  quantity: number;
  order_type: OrderType;
  price?: number;
  trigger_price?: number;
  product?: Product;
  reason_code?: string;
  message?: string;
  fill_quantity?: number;
  fill_price?: number;
  status?: OrderStatus;
}

/** The status an event gives its order; undefined for an event that is not of an order's lifecycle. */
export function statusOf(event: AnyEnvelope): OrderStatus | undefined {
  switch (event.type) {
    case "signal.generated":
    case "signal.validated":
      return "PENDING";
    case "signal.rejected":
      // A signal refused for being past its send deadline was never sent: the order FAILED.
      return event.data.reason_code === SEND_TIMEOUT ? "FAILED" : "REJECTED";
    case "order.rejected":
      return "REJECTED";
    case "order.submitted":
      return "OPEN";
    case "order.filled":
      return event.data.status;
    case "order.cancelled":
      return "CANCELLED";
    case "order.failed":
      return "FAILED";
    default:
      return undefined;
  }
}

/** Events of an order's history that give no status: a change the venue made, and refused cancels and modifies. */
const UNSTATUSED = new Set<string>(["order.modified", "order.cancel_rejected", "order.modify_rejected"]);

/**
 * True for an event of an order's history: one that gives a status, a modify the venue made, and a
 * cancel or modify that was refused (kept in the history, it leaves the order as it is). Shared
 * topics carry no order's events.
 */
export const isOrderEvent = (event: AnyEnvelope): boolean => event.broker !== "shared" && (UNSTATUSED.has(event.type) || statusOf(event) !== undefined);

/**
 * The order with the quantity, type and prices an `order.modified` gives it, whatever its status:
 * the venue modifies only an open order, so a modify read after the order's end (topics are read
 * in parallel) happened before it. An order's modifies share one partition, so they come in order.
 */
function modified(order: Order | undefined, event: AnyEnvelope): Order | undefined {
  if (order === undefined || event.type !== "order.modified") return order;
  const data = event.data;
  return { ...order, quantity: data.quantity, order_type: data.order_type, price: data.price ?? null, trigger_price: data.trigger_price ?? null };
}

/** The order an event belongs to: a signal's id is its order's id. */
export function orderIdOf(event: AnyEnvelope): string {
  const data = event.data as { order_id?: string; signal_id?: string };
  return String(data.order_id ?? data.signal_id);
}

const isTimeoutRefusal = (event: AnyEnvelope): boolean => event.type === "signal.rejected" && event.data.reason_code === SEND_TIMEOUT;

/** Position in the lifecycle; every final status ranks last. */
const rank = (status: OrderStatus): number => Math.min(ORDER_STATUSES.indexOf(status), 3);

/**
 * The order after `event`; the same order (unchanged) for an event that gives no status.
 *
 * Send deadlines (ORDER_SEND_TIMEOUT_MS): the gateway's relay ends an order it could not send in
 * time FAILED SEND_TIMEOUT, and risk refuses a copy that reached the log late with the same
 * reason. The one race is a send in doubt at the deadline whose copy risk judged in time: the
 * pipeline is then the truth (the order is live at the venue), so
 * - any other event takes an order on from FAILED SEND_TIMEOUT (revived), and
 * - a deadline refusal never moves an order that is already under way (past PENDING).
 *
 * @example
 * let order = evolve(undefined, validated); // PENDING
 * order = evolve(order, filled);            // FILLED, filled_quantity and filled_value added
 */
export function evolve(order: Order | undefined, event: AnyEnvelope): Order | undefined {
  const status = statusOf(event);
  if (status === undefined) return modified(order, event);
  const data = event.data as LifecycleData;
  const filled = event.type === "order.filled";
  const fillQuantity = filled ? data.fill_quantity! : 0;
  // Integer paise × integer quantity: exact while below 2^53 paise.
  const fillValue = filled ? data.fill_quantity! * data.fill_price! : 0;
  const reason = data.reason_code ?? null;
  const message = data.message ?? null;
  if (order === undefined) {
    return {
      order_id: orderIdOf(event),
      broker: event.broker,
      strategy_id: data.strategy_id,
      instrument_token: data.instrument_token,
      side: data.side,
      quantity: data.quantity,
      order_type: data.order_type,
      price: data.price ?? null,
      trigger_price: data.trigger_price ?? null,
      product: data.product ?? null,
      status,
      reason_code: reason,
      message,
      correlation_id: event.correlation_id,
      filled_quantity: fillQuantity,
      filled_value: fillValue,
      created_at: event.ts,
    };
  }
  const fills = { filled_quantity: order.filled_quantity + fillQuantity, filled_value: order.filled_value + fillValue };
  const timedOut = order.status === "FAILED" && order.reason_code === SEND_TIMEOUT;
  if (timedOut && reason !== SEND_TIMEOUT) return { ...order, ...fills, status, reason_code: reason, message };
  if (reason === SEND_TIMEOUT && order.status !== "PENDING") return { ...order, ...fills };
  const moves = !isFinal(order.status) && rank(status) >= rank(order.status);
  return { ...order, ...fills, status: moves ? status : order.status, reason_code: reason ?? order.reason_code, message: message ?? order.message };
}

/**
 * The orders `events` change, folded in batch order onto `known` (the orders as they were; an
 * absent one is made by its first event). Only events `isNew` says were not applied before are
 * folded, so a redelivered event changes nothing.
 *
 * One rule needs the whole batch: a deadline refusal of an order whose other events are in the
 * same batch is a late duplicate of a copy judged in time, and leaves the order as it is.
 *
 * @example
 * const changed = foldBatch(rowsById, batch, (id) => recorded.has(id));
 */
export function foldBatch(known: ReadonlyMap<string, Order>, events: readonly AnyEnvelope[], isNew: (eventId: string) => boolean = () => true): Map<string, Order> {
  const underWay = new Set<string>();
  for (const event of events) {
    if (event.broker !== "shared" && statusOf(event) !== undefined && !isTimeoutRefusal(event)) underWay.add(orderIdOf(event));
  }
  const changed = new Map<string, Order>();
  const applied = new Set<string>();
  for (const event of events) {
    if (!isOrderEvent(event) || applied.has(event.id) || !isNew(event.id)) continue;
    applied.add(event.id);
    const orderId = orderIdOf(event);
    if (isTimeoutRefusal(event) && underWay.has(orderId)) continue;
    const before = changed.get(orderId) ?? known.get(orderId);
    const after = evolve(before, event);
    if (after !== before && after !== undefined) changed.set(orderId, after);
  }
  return changed;
}
