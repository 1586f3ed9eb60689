/**
 * The bridge's topics: named by settings (OPENALGO_EVENTS_TOPIC, OPENALGO_SOURCE_TOPIC), so they
 * are not rows of src/topics.ts's table, but they follow it: keyed (by `user_id`, as OpenAlgo
 * keys), each with its DLQ named by `dlqName`, made with the table's topics at start and by
 * `bun run topics`. An existing topic (an OpenAlgo instance's) keeps its partitions.
 */
import type { OpenAlgoEventsConfig } from "../config-kafka.ts";
import type { TopicSpec } from "../log/port.ts";
import { dlqName } from "../topics.ts";

const DAY = 86_400_000;
/** Three partitions, as OpenAlgo's topic: one user's events stay in order on one of them. */
const BRIDGE = { partitions: 3, retentionMs: 7 * DAY };
const DLQ = { partitions: 1, retentionMs: 7 * DAY };

/** What the bridge's topics carry, for `bun run topics`' table. */
export const OPENALGO_CARRIES = "OpenAlgo order-event messages (order_event, analyzer_update, order_notification, master_contract_download, password_change), key user_id";

/**
 * Every topic (and its DLQ) the bridge's settings name; none when neither is set.
 *
 * @example
 * openAlgoTopicSpecs({ sourceTopic: "from_openalgo_order_events", userId: "u" }).map((t) => t.name);
 * // ["from_openalgo_order_events", "from_openalgo_order_events.dlq"]
 */
export function openAlgoTopicSpecs(config: OpenAlgoEventsConfig): TopicSpec[] {
  return [config.eventsTopic, config.sourceTopic].filter((name): name is string => name !== undefined).flatMap((name) => [{ name, ...BRIDGE }, { name: dlqName(name), ...DLQ }]);
}
