/**
 * The orders read model (`orders`, `order_events` in PostgreSQL), kept from the order lifecycle
 * events: a stage of its own, with its own consumer group, that runs in the portfolio's worker
 * beside the portfolio stage (src/stage/stages.ts). Apart, so that a fill never waits for the
 * read model: the portfolio's batch writes the ledger only.
 *
 * Every input is idempotent (an event id is recorded once, a status only moves forward), so none
 * is deduplicated by id; a batch is saved in one statement (src/stage/stages/orders-projection.ts).
 * At most one such write every ORDERS_EVERY_MS: the events that arrive meanwhile wait in the
 * log and make the next batch.
 */
import type { AnyEnvelope } from "../../events/envelope.ts";
import { brokerOfTopic, topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Stage } from "../stage.ts";
import { projectOrders } from "./orders-projection.ts";

/**
 * How often the read model is written at most: batched, its writes leave the embedded database
 * (one session, shared with the ledger) free for the fills. The read model is that much behind
 * the log; the WebSocket pushes the events themselves.
 */
export const ORDERS_EVERY_MS = 100;

/** The lifecycle topics the read model is built from, per broker. */
const ORDER_LIFECYCLE_TOPICS = ["signalsValidated", "signalsRejected", "ordersSubmitted", "ordersFilled", "ordersRejected", "ordersCancelled", "ordersFailed"] as const;

export async function ordersStage(ctx: StageContext): Promise<Stage> {
  const brokers = new Set<string>(ctx.config.activeBrokers);
  const topics = ctx.config.activeBrokers.flatMap((broker) => ORDER_LIFECYCLE_TOPICS.map((id) => topicName(id, broker)));
  // The batch's events, written together after it; kept for the retry when the write fails.
  const batch: AnyEnvelope[] = [];
  let writtenAt = -Infinity;
  return {
    idempotentTopics: topics,
    topics,
    handle(event, message) {
      if (brokers.has(brokerOfTopic(message.topic))) batch.push(event);
      return [];
    },
    async afterBatch() {
      if (batch.length === 0) return;
      // The wait holds the next fetch back, so what arrives meanwhile is written together. On the
      // monotonic clock, and until the time has passed: a timer may fire a little early, and the
      // wall clock may step.
      let wait: number;
      while ((wait = writtenAt + ORDERS_EVERY_MS - performance.now()) > 0) await Bun.sleep(wait);
      writtenAt = performance.now();
      await projectOrders(ctx.db, batch);
      batch.length = 0;
    },
  };
}
