/**
 * The orders read model (`orders`, `order_events`), written from the lifecycle events: the
 * lifecycle fold (src/orders/lifecycle.ts) over the orders a batch touches, stored by the
 * repository (src/store/order-projection.ts) in one statement that writes only if nothing it read
 * changed meanwhile. Each event is recorded once (its id is the key) and only a newly recorded one
 * is folded, so a redelivered event changes nothing, however the events are batched.
 */
import type { AnyEnvelope } from "../../events/envelope.ts";
import { AlphaError } from "../../errors.ts";
import { foldBatch, isOrderEvent, orderIdOf } from "../../orders/lifecycle.ts";
import type { Db } from "../../store/db.ts";
import { readFoldInput, saveFold, type RecordedEvent } from "../../store/order-projection.ts";

/** How many times a batch is read and folded again when its orders changed meanwhile (another writer). */
const ATTEMPTS = 20;

const changedMeanwhile = (err: unknown) => (err as { code?: unknown } | null)?.code === "40001";

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
  for (let attempt = 1; ; attempt++) {
    const input = await readFoldInput(db, touched, [...history.keys()]);
    const fresh = [...history.values()].filter((recorded) => !input.recorded.has(recorded.event.id));
    try {
      await saveFold(db, fresh, foldBatch(input.orders, batch, (id) => !input.recorded.has(id)), input.versions);
      return;
    } catch (err) {
      if (!changedMeanwhile(err)) throw err;
      if (attempt >= ATTEMPTS) throw new AlphaError("CONFLICT", `orders projection: its orders kept changing meanwhile (${ATTEMPTS} attempts)`, { canRetry: true, cause: err });
    }
  }
}
