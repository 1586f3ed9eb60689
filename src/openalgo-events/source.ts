/**
 * Follows an OpenAlgo instance (OPENALGO_SOURCE_TOPIC): its order events, read by one consumer
 * group shared by every gateway, become rows of the read-only `openalgo_orders` view
 * (src/store/openalgo-orders.ts), each handed to `onOrder` once written (the WebSocket's
 * `orders.openalgo`). A malformed message goes to `<topic>.dlq` with the reason and its bytes.
 * Offsets are committed after the batch's rows and dead letters are written; a store that is down
 * is waited for (with backoff), never skipped.
 */
import { AlphaError, dependencyError } from "../errors.ts";
import type { Consumer, Log, LogMessage, OutgoingMessage, Producer } from "../log/port.ts";
import type { Logger } from "../logger.ts";
import { deadLetter } from "../stage/dead-letter.ts";
import type { Db } from "../store/db.ts";
import { openAlgoOrderById, saveOpenAlgoOrder, type StoredOpenAlgoOrder } from "../store/openalgo-orders.ts";
import { receive } from "./receive.ts";

export const OPENALGO_SOURCE_GROUP = "alpha-panda.openalgo-source";

export interface OpenAlgoSourceStats {
  received: number;
  orders: number;
  deadLettered: number;
}

export interface OpenAlgoSource {
  readonly stats: OpenAlgoSourceStats;
  close(): Promise<void>;
}

/**
 * @example
 * const source = await followOpenAlgo({ log, producer, db, topic: "from_openalgo_order_events", logger, onOrder: (o) => push(o) });
 * await source.close();
 */
export async function followOpenAlgo(deps: { log: Log; producer: Producer; db: Db; topic: string; logger: Logger; onOrder?: (order: StoredOpenAlgoOrder) => void; groupId?: string }): Promise<OpenAlgoSource> {
  const stats: OpenAlgoSourceStats = { received: 0, orders: 0, deadLettered: 0 };
  let closed = false;
  const consumer: Consumer = deps.log.consumer({ groupId: deps.groupId ?? OPENALGO_SOURCE_GROUP, topics: [deps.topic], startFrom: "earliest", clientId: "openalgo-source" });

  /** Waits out a store or log that is down; anything else is a bug and stops the consumer loudly. */
  async function persist<T>(what: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        const retryable = dependencyError(err);
        if (!retryable || closed) throw err;
        const wait = Math.min(100 * 2 ** (attempt - 1), 5_000);
        deps.logger.warn({ err: (err as Error).message, attempt, retry_in_ms: wait }, `OpenAlgo source: ${what} failed; trying again`);
        await Bun.sleep(wait);
      }
    }
  }

  async function handle(batch: readonly LogMessage[]): Promise<void> {
    const dead: OutgoingMessage[] = [];
    for (const m of batch) {
      stats.received++;
      const got = receive(m.value);
      if (!got.ok) {
        deps.logger.warn({ topic: m.topic, offset: m.offset, reason: got.reason }, "malformed OpenAlgo event: sent to the DLQ");
        dead.push(deadLetter(m, new AlphaError("PAYLOAD_INVALID", got.reason), 1, "openalgo-source"));
        continue;
      }
      const order = got.order;
      if (!order) continue;
      const changed = await persist("writing an order", () => saveOpenAlgoOrder(deps.db, order));
      if (!changed) continue;
      stats.orders++;
      if (deps.onOrder) {
        const shown = await persist("reading an order", () => openAlgoOrderById(deps.db, order.order_id));
        if (shown) deps.onOrder(shown);
      }
    }
    if (dead.length > 0) {
      await persist("dead-lettering", () => deps.producer.send(dead));
      stats.deadLettered += dead.length;
    }
  }

  await consumer.run(handle);
  consumer.done.catch((err: unknown) => deps.logger.error({ err: (err as Error).message, topic: deps.topic }, "the OpenAlgo source stopped on an error"));
  return {
    stats,
    async close() {
      closed = true;
      await consumer.close();
    },
  };
}
