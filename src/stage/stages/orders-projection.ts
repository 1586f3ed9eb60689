/**
 * The orders read model (`orders`, `order_events`), written from the lifecycle events: the
 * lifecycle fold (src/orders/lifecycle.ts) over the orders a batch touches, stored by the
 * repository (src/store/order-projection.ts), in one transaction per batch. Each event is recorded
 * once (its id is the key) and only a newly recorded one is folded, so a redelivered event changes
 * nothing, however the events are batched.
 */
import type { AnyEnvelope } from "../../events/envelope.ts";
import { foldBatch, isOrderEvent, orderIdOf } from "../../orders/lifecycle.ts";
import type { Db } from "../../store/db.ts";
import { lockOrders, recordOrderEvents, saveOrders, type RecordedEvent } from "../../store/order-projection.ts";

/**
 * Records a batch of order lifecycle events, in order, and folds the new ones into their orders;
 * other events are ignored, and a cancel the venue refused is recorded without changing its order.
 *
 * @example
 * await projectOrders(db, batchEvents);
 */
export async function projectOrders(db: Db, batch: readonly AnyEnvelope[]): Promise<void> {
  const history = new Map<string, RecordedEvent>();
  for (const event of batch) if (isOrderEvent(event) && !history.has(event.id)) history.set(event.id, { orderId: orderIdOf(event), event });
  if (history.size === 0) return;
  const touched = [...new Set([...history.values()].map((recorded) => recorded.orderId))];
  await db.transaction(async (tx) => {
    // Both at once: the statements go to the database together, and run in this order.
    const [recorded, known] = await Promise.all([recordOrderEvents(tx, [...history.values()]), lockOrders(tx, touched)]);
    if (recorded.size === 0) return;
    await saveOrders(tx, foldBatch(known, batch, (id) => recorded.has(id)), new Set(known.keys()));
  });
}
