/**
 * The topic table: the one place a topic name is spelled. Bootstrap (`bun run topics`), the
 * embedded log, the stages, the tests and the docs all read it.
 */
import type { Broker } from "./config.ts";
import type { EventType } from "./events/payloads.ts";
import type { TopicSpec } from "./log/port.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What a topic carries and how it is keyed. */
export interface TopicDef {
  /** Where the broker namespace goes: shared topics have none. */
  scope: "shared" | "broker";
  /** The name after the broker prefix (or the whole name for shared topics). */
  suffix: string;
  partitions: number;
  retentionMs: number;
  /** What the message key is, for readers of the table. */
  key: string;
  /**
   * The event types it carries. The stream processor sends any other envelope found on it to its
   * DLQ as poison, and each stage handles every type its input topics carry (test/topics.unit.test.ts).
   */
  carries: readonly EventType[];
  /**
   * Whether the embedded log journals it to DATA_DIR (src/log/journal.ts), so a kill -9 loses none
   * of its acknowledged messages. Ticks are not: losing the last ones at a crash is harmless (the
   * next tick supersedes them), and their rate must not pay for a write each.
   */
  journal: boolean;
  /** Keeps each key's latest message for ever (Kafka: cleanup.policy=compact; the in-process log keeps every message). */
  compact?: boolean;
  description: string;
}

export const TOPIC_TABLE = {
  marketTicks: { scope: "shared", suffix: "market.ticks", partitions: 6, retentionMs: DAY, key: "instrument_token", carries: ["market.tick"], journal: false, description: "ticks from every feed" },
  signalsRaw: { scope: "broker", suffix: "signals.raw", partitions: 6, retentionMs: 7 * DAY, key: "instrument_token", carries: ["signal.generated", "order.modify"], journal: true, description: "signals from strategies, orders from the API, and modifies for risk to judge" },
  signalsValidated: { scope: "broker", suffix: "signals.validated", partitions: 6, retentionMs: 7 * DAY, key: "instrument_token", carries: ["signal.validated", "order.modify_validated"], journal: true, description: "signals and modifies that passed risk" },
  signalsRejected: { scope: "broker", suffix: "signals.rejected", partitions: 3, retentionMs: 7 * DAY, key: "instrument_token", carries: ["signal.rejected"], journal: true, description: "signals risk refused, with the reason" },
  orderCommands: { scope: "broker", suffix: "orders.commands", partitions: 6, retentionMs: 7 * DAY, key: "instrument_token", carries: ["order.cancel", "order.cancel_open"], journal: true, description: "commands to the execution stage (cancel, cancel an instrument's open orders of a product)" },
  ordersSubmitted: { scope: "broker", suffix: "orders.submitted", partitions: 6, retentionMs: 30 * DAY, key: "instrument_token", carries: ["order.submitted", "order.modified"], journal: true, description: "orders accepted by the execution venue, and the changes it accepted to them" },
  ordersFilled: { scope: "broker", suffix: "orders.filled", partitions: 6, retentionMs: 30 * DAY, key: "instrument_token", carries: ["order.filled"], journal: true, description: "fills, whole and partial" },
  ordersRejected: { scope: "broker", suffix: "orders.rejected", partitions: 3, retentionMs: 30 * DAY, key: "instrument_token", carries: ["order.rejected", "order.cancel_rejected", "order.modify_rejected"], journal: true, description: "orders the venue refused; cancels and modifies refused" },
  ordersCancelled: { scope: "broker", suffix: "orders.cancelled", partitions: 3, retentionMs: 30 * DAY, key: "instrument_token", carries: ["order.cancelled"], journal: true, description: "orders cancelled" },
  ordersFailed: { scope: "broker", suffix: "orders.failed", partitions: 3, retentionMs: 30 * DAY, key: "instrument_token", carries: ["order.failed"], journal: true, description: "orders that could not be sent" },
  control: { scope: "broker", suffix: "control", partitions: 1, retentionMs: -1, compact: true, key: "what the command sets: trading_state, limits, strategy:<id>", carries: ["control.trading_state", "control.limits", "control.strategy"], journal: true, description: "commands: the trading state, the risk limits, strategies (src/control)" },
  pnlSnapshots: { scope: "broker", suffix: "pnl.snapshots", partitions: 1, retentionMs: 30 * DAY, key: "broker", carries: ["pnl.snapshot"], journal: true, description: "periodic portfolio and P&L snapshots" },
} as const satisfies Record<string, TopicDef>;

export type TopicId = keyof typeof TOPIC_TABLE;

/** Dead letters keep a week, on one partition: they are read by people, not by throughput. */
const DLQ = { partitions: 1, retentionMs: 7 * DAY };

/**
 * The name of a topic for a broker namespace.
 *
 * @example
 * topicName("signalsRaw", "paper"); // "paper.signals.raw"
 * topicName("marketTicks");         // "market.ticks"
 */
export function topicName(id: TopicId, broker?: Broker): string {
  const def: TopicDef = TOPIC_TABLE[id];
  if (def.scope === "shared") return def.suffix;
  if (!broker) throw new Error(`topic ${id} is per broker: name the broker`);
  return `${broker}.${def.suffix}`;
}

/** The dead-letter topic of a topic. */
export const dlqName = (topic: string): string => `${topic}.dlq`;

/**
 * The row of the table a topic name belongs to (any namespace), or undefined for a name the
 * table does not declare (a DLQ, a test's own topic).
 *
 * @example
 * topicIdOf("paper.orders.filled"); // "ordersFilled"
 */
export function topicIdOf(topic: string): TopicId | undefined {
  const broker = brokerOfTopic(topic);
  const scope = broker === "shared" ? "shared" : "broker";
  const suffix = broker === "shared" ? topic : topic.slice(broker.length + 1);
  for (const [id, def] of Object.entries(TOPIC_TABLE) as Array<[TopicId, TopicDef]>) {
    if (def.scope === scope && def.suffix === suffix) return id;
  }
  return undefined;
}

const carried = new Map<TopicId, ReadonlySet<EventType>>(
  (Object.entries(TOPIC_TABLE) as Array<[TopicId, TopicDef]>).map(([id, def]) => [id, new Set(def.carries)]),
);

const carrierOf = new Map<EventType, TopicId>(
  (Object.entries(TOPIC_TABLE) as Array<[TopicId, TopicDef]>).flatMap(([id, def]) => def.carries.map((type) => [type, id] as const)),
);

/**
 * The row of the table whose topic carries an event type (each type is carried by one topic).
 *
 * @example
 * topicCarrying("order.cancel_rejected"); // "ordersRejected"
 */
export function topicCarrying(type: EventType): TopicId {
  const id = carrierOf.get(type);
  if (id === undefined) throw new Error(`no topic carries ${type}`);
  return id;
}

/**
 * The event types a topic carries, from the table; undefined for a topic the table does not name.
 *
 * @example
 * eventTypesOf("market.ticks"); // Set { "market.tick" }
 */
export function eventTypesOf(topic: string): ReadonlySet<EventType> | undefined {
  const id = topicIdOf(topic);
  return id && carried.get(id);
}

/**
 * Whether the embedded log journals a topic (the table's `journal`). Dead letters are (a DLQ
 * holds the only copy of what it took) and so is a topic the table does not name (a test's own).
 *
 * @example
 * journaled("market.ticks");       // false
 * journaled("paper.orders.filled"); // true
 */
export function journaled(topic: string): boolean {
  const id = topicIdOf(topic);
  return id === undefined ? true : TOPIC_TABLE[id].journal;
}

/** The broker a topic belongs to, read from its name ("shared" for shared topics). */
export function brokerOfTopic(topic: string): Broker | "shared" {
  const prefix = topic.split(".", 1)[0];
  return prefix === "paper" || prefix === "zerodha" ? prefix : "shared";
}

/** A row of the table made concrete for one namespace, with its DLQ. */
export interface TopicRow extends TopicSpec {
  id: TopicId;
  key: string;
  carries: readonly EventType[];
  dlq: TopicSpec;
}

/**
 * Every topic (and its DLQ) the given brokers need, shared topics once.
 *
 * @example
 * allTopics(["paper"]).map((t) => t.name); // ["market.ticks", "paper.signals.raw", …]
 */
export function allTopics(brokers: readonly Broker[]): TopicRow[] {
  const rows: TopicRow[] = [];
  for (const [id, def] of Object.entries(TOPIC_TABLE) as Array<[TopicId, TopicDef]>) {
    const namespaces = def.scope === "shared" ? [undefined] : brokers;
    for (const b of namespaces) {
      const name = topicName(id, b);
      rows.push({ id, name, partitions: def.partitions, retentionMs: def.retentionMs, ...(def.compact ? { compact: true } : {}), key: def.key, carries: def.carries, dlq: { name: dlqName(name), ...DLQ } });
    }
  }
  return rows;
}

/** The specs to create: every topic and its DLQ. */
export const topicSpecs = (brokers: readonly Broker[]): TopicSpec[] =>
  allTopics(brokers).flatMap(({ name, partitions, retentionMs, compact, dlq }) => [{ name, partitions, retentionMs, ...(compact ? { compact } : {}) }, dlq]);
