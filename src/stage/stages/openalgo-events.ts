/**
 * The OpenAlgo publisher (OPENALGO_EVENTS_TOPIC): our order events as OpenAlgo's order-event
 * messages (src/openalgo-events/publish.ts), keyed by user_id as OpenAlgo keys them. A companion
 * in the portfolio's worker with its own group, so neither the orders nor the fills wait for it.
 *
 * The stream processor gives it dedup by event id (a redelivered event is published once in
 * normal running; after a crash between the send and the commit, again with the same bytes),
 * retries, and commits only after the batch's messages were acknowledged: they are sent in
 * afterBatch, before the commit. An event that cannot be shown in OpenAlgo's terms goes to the
 * topic's own DLQ (`<OPENALGO_EVENTS_TOPIC>.dlq`) with the reason.
 */
import { AlphaError } from "../../errors.ts";
import type { OutgoingMessage } from "../../log/port.ts";
import { toOpenAlgoMessages } from "../../openalgo-events/publish.ts";
import { dlqName, topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import { deadLetter } from "../dead-letter.ts";
import type { Stage } from "../stage.ts";

/** The topics whose events are published, per broker: every order event, and risk's refusals. */
export const OPENALGO_INPUT_TOPICS = ["ordersSubmitted", "ordersFilled", "ordersRejected", "ordersCancelled", "ordersFailed", "signalsRejected"] as const;

/** Where an event type sits in an order's life, for events of the same time. */
const LIFECYCLE_RANK: Partial<Record<string, number>> = { "signal.rejected": 0, "order.submitted": 1, "order.modified": 2, "order.filled": 3, "order.rejected": 4, "order.cancelled": 4, "order.failed": 4 };

export async function openAlgoEventsStage(ctx: StageContext): Promise<Stage> {
  const target = ctx.config.openAlgo.eventsTopic;
  if (!target) throw new AlphaError("INTERNAL", "the OpenAlgo publisher runs only with OPENALGO_EVENTS_TOPIC set");
  const { userId } = ctx.config.openAlgo;
  const topics = ctx.config.activeBrokers.flatMap((broker) => OPENALGO_INPUT_TOPICS.map((id) => topicName(id, broker)));
  // The batch's messages, sent together after it; dropped when a new batch starts (a failed
  // batch is handled again from the start).
  const pending: Array<OutgoingMessage & { order: [string, number] }> = [];
  return {
    topics,
    onBatch() {
      pending.length = 0;
    },
    handle(event, message) {
      try {
        const rank = LIFECYCLE_RANK[event.type] ?? 0;
        for (const m of toOpenAlgoMessages(event, { userId, instruments: ctx.instruments })) pending.push({ topic: target, key: userId, value: JSON.stringify(m), order: [event.ts, rank] });
      } catch (err) {
        if (!(err instanceof AlphaError) || err.code !== "PAYLOAD_INVALID") throw err;
        pending.push({ ...deadLetter(message, err, 1, "openalgo-events"), topic: dlqName(target), order: [event.ts, 0] });
      }
      return [];
    },
    async afterBatch() {
      if (pending.length === 0) return;
      // The order topics are read side by side: within a batch, put an order's events back in
      // lifecycle order (by event time, then submitted before filled before its end), as OpenAlgo's readers expect.
      pending.sort((a, b) => (a.order[0] < b.order[0] ? -1 : a.order[0] > b.order[0] ? 1 : a.order[1] - b.order[1]));
      await ctx.producer.send(pending.map(({ order: _, ...m }) => m));
      pending.length = 0;
    },
  };
}
