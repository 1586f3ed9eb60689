/**
 * The log port: what every stage needs from Kafka, Redpanda or the in-process log, and nothing
 * more. Adapters: `MemoryLog` (embedded mode), `KafkaLog` (@platformatic/kafka) and `RemoteLog`
 * (a worker's view of a MemoryLog on the main thread). One conformance suite
 * (test/log/conformance.ts) runs against each.
 *
 * Delivery contract:
 * - `Producer.send` resolves only once every message is acknowledged by all replicas (acks=all);
 *   at most `maxInFlight` sends run at once, at most `maxQueued` more wait, and past that `send`
 *   rejects with a LOG_FULL error. Nothing is dropped silently.
 * - Every message has a key; messages with the same key go to the same partition, in order.
 * - A consumer hands the handler batches; within one partition a batch is in offset order. Offsets
 *   are committed only after the handler resolved. If the handler throws, nothing of that batch is
 *   committed and the consumer stops with the error (`Consumer.done` rejects); the next consumer of
 *   the group starts again from the last commit (at least once).
 */

/** Message headers: string values only, so they are JSON-safe everywhere. */
export type Headers = Record<string, string>;

/** A message to publish. */
export interface OutgoingMessage {
  topic: string;
  /** The partition key; required (design: every message keyed). */
  key: string;
  value: Uint8Array | string;
  headers?: Headers;
}

/** A message as consumed. */
export interface LogMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: Uint8Array;
  headers: Headers;
  /** Milliseconds since the epoch, when the log appended it. */
  timestamp: number;
}

export interface ProducerOptions {
  /** Sends in flight at once (default 8). */
  maxInFlight?: number;
  /** Sends allowed to wait for a slot before `send` refuses with LOG_FULL (default 1024). */
  maxQueued?: number;
  /** Client id, for the broker's logs and metrics. */
  clientId?: string;
}

export interface Producer {
  /** Publishes the messages; resolves when all are acknowledged. */
  send(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Waits for every send in flight or queued, then releases the connection. */
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a partition with no committed offset starts (default "earliest"). */
  startFrom?: "earliest" | "latest";
  /** Most messages per handler call (default 500). */
  maxBatchSize?: number;
  /** How long a Kafka fetch waits for data before returning what it has (default 100 ms). The in-process log hands a batch over as soon as it has a message. */
  maxWaitMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  clientId?: string;
}

export type BatchHandler = (batch: readonly LogMessage[]) => Promise<void>;

export interface Consumer {
  /** Joins the group and starts delivering batches to the handler; resolves once joined. */
  run(handler: BatchHandler): Promise<void>;
  /** Settles when the consumer stops: resolves after `close`, rejects if the handler threw. */
  readonly done: Promise<void>;
  /** The topic-partitions this member owns right now. */
  assignments(): TopicPartition[];
  /** Stops fetching, lets the batch in hand finish and commit, then leaves the group. */
  close(): Promise<void>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A topic to create: the log's view of a row of the topic table. */
export interface TopicSpec {
  name: string;
  partitions: number;
  /** Retention in milliseconds; -1 keeps everything. */
  retentionMs: number;
  /**
   * Keeps the latest message of each key for ever (Kafka: cleanup.policy=compact). The in-process
   * log keeps every message of it, journaled, whoever has read them.
   */
  compact?: boolean;
}

export interface TopicInfo {
  name: string;
  partitions: number;
}

export interface OffsetRange {
  start: number;
  end: number;
}

export interface CommittedOffset extends TopicPartition {
  /** The next offset the group will read. */
  next: number;
}

/** A consumer group as the log's coordinator lists it. */
export interface GroupInfo {
  id: string;
  /** Members now in the group (a dead one counts until its session times out). */
  members: number;
}

export interface CreateTopicsResult {
  created: string[];
  existing: string[];
}

/** A log: topics, producers and consumers. */
export interface Log {
  readonly kind: "memory" | "kafka" | "remote";
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(specs: readonly TopicSpec[]): Promise<CreateTopicsResult>;
  listTopics(): Promise<TopicInfo[]>;
  /**
   * Per partition of `topic`, the offset the next message appended to it will get (Kafka's
   * ListOffsets "latest"): a reader that has handled everything below it has seen all the log held.
   *
   * @example
   * const [end] = await log.endOffsets("paper.control"); // 0 for an empty topic
   */
  endOffsets(topic: string): Promise<number[]>;
  /**
   * For monitoring (optional): per partition of each topic, the first offset the log still holds
   * and the next it will write, so `end − start` messages are held. A topic it does not know is
   * left out.
   *
   * @example
   * const ranges = await log.offsetRanges?.(["paper.signals.raw.dlq"]); // Map { … => [{ start: 0, end: 1 }] }
   */
  offsetRanges?(topics: readonly string[]): Promise<Map<string, OffsetRange[]>>;
  /**
   * For monitoring (optional): the offsets a consumer group has committed (the next it will read),
   * per topic-partition it has committed on.
   */
  committedOffsets?(groupId: string): Promise<CommittedOffset[]>;
  /** The consumer groups whose id starts with `prefix`, with how many members each has now. */
  consumerGroups?(prefix: string): Promise<GroupInfo[]>;
  /**
   * Commits `offsets` for a group that has no member (a group with members refuses with an error),
   * so its first member starts there instead of at its fallback.
   */
  seedOffsets?(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  producer(options?: ProducerOptions): Producer;
  consumer(options: ConsumerOptions): Consumer;
  /** Closes every producer and consumer made by this log. */
  close(): Promise<void>;
}

/** Text ⇄ bytes for message values. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const utf8 = {
  encode: (s: string): Uint8Array => encoder.encode(s),
  decode: (b: Uint8Array): string => decoder.decode(b),
  /** Writes `s` into `into`; how many bytes it took. */
  encodeInto: (s: string, into: Uint8Array): number => encoder.encodeInto(s, into).written,
};
