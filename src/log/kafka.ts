/**
 * The log port over Apache Kafka or Redpanda, through @platformatic/kafka: the distributed mode's
 * log. Producers are idempotent with acks=all; consumers are classic consumer groups committing by
 * hand after the handler resolved (see kafka-producer.ts and kafka-consumer.ts).
 */
import { Admin, type ConnectionOptions } from "@platformatic/kafka";
import { KAFKA_HEARTBEAT_INTERVAL_DEFAULT_MS, KAFKA_SESSION_TIMEOUT_DEFAULT_MS } from "../config.ts";
import { AlphaError, ConfigError, type Problem } from "../errors.ts";
import { KafkaConsumer } from "./kafka-consumer.ts";
import { hasApi, toAlphaError } from "./kafka-errors.ts";
import { KafkaProducer } from "./kafka-producer.ts";
import { producerTuning } from "./kafka-tuning.ts";
import type { ProducerTuning } from "../config-kafka.ts";
import { installFastReads } from "./kafka-reads.ts";
import { installFastWrites } from "./kafka-writes.ts";
import type { CommittedOffset, Consumer, GroupInfo, ConsumerOptions, CreateTopicsResult, Log, OffsetRange, Producer, ProducerOptions, TopicInfo, TopicSpec } from "./port.ts";

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port` each. */
  brokers: readonly string[];
  /** Prefix of every client id (default "alpha-panda"). */
  clientId?: string;
  /** Replicas of the topics createTopics makes (default: the cluster's default.replication.factor). */
  replicationFactor?: number;
  /**
   * Consumer defaults, each overridable per consumer (defaults 6 s, 1 s, 60 s, 100 ms: a member
   * that dies loses its partitions within about 8 s; src/config.ts).
   */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  fetchMaxWaitMs?: number;
  /** Connection and request limits (defaults 5 s and 30 s). */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * Attempts after a retriable failure (default 5), `retryDelayMs` apart (default 500 ms). Past
   * them a call fails with LOG_UNAVAILABLE (canRetry), so an outage reaches the caller's own retry
   * and DLQ policy instead of hanging a send forever.
   */
  retries?: number;
  retryDelayMs?: number;
  tls?: ConnectionOptions["tls"];
  sasl?: ConnectionOptions["sasl"];
  /** How producers send (KAFKA_PRODUCER_*; default: no compression, 1 MiB requests, no linger, 5 retries, 30 s). */
  producer?: Partial<ProducerTuning>;
}

/** What every client this log makes shares. */
export interface ClientSettings {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  requestTimeout: number;
  retries: number;
  retryDelay: number;
  tls?: ConnectionOptions["tls"];
  sasl?: ConnectionOptions["sasl"];
}

export interface ConsumerDefaults {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  maxWaitMs: number;
}

const BROKER = /^[A-Za-z0-9_.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

function validate(o: KafkaLogOptions): void {
  const problems: Problem[] = [];
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) problems.push({ path: "brokers", message: "must list at least one host:port" });
  else for (const b of o.brokers) if (!BROKER.test(b)) problems.push({ path: "brokers", message: `must be host:port, got ${JSON.stringify(b)}` });
  const positive = ["sessionTimeoutMs", "heartbeatIntervalMs", "rebalanceTimeoutMs", "fetchMaxWaitMs", "connectTimeoutMs", "requestTimeoutMs", "replicationFactor"] as const;
  for (const k of positive) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) problems.push({ path: k, message: `must be a positive integer, got ${v}` });
  }
  for (const k of ["retries", "retryDelayMs"] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) problems.push({ path: k, message: `must be an integer ≥ 0, got ${v}` });
  }
  problems.push(...producerTuning(o.producer).problems);
  if (problems.length > 0) throw new ConfigError(problems);
}

function validateSpec(s: TopicSpec): void {
  const bad = (m: string) => new AlphaError("CONFIG_INVALID", `topic ${JSON.stringify(s.name)}: ${m}`);
  if (typeof s.name !== "string" || !/^[A-Za-z0-9._-]{1,249}$/.test(s.name)) throw bad("the name must be 1-249 of [A-Za-z0-9._-]");
  if (!Number.isInteger(s.partitions) || s.partitions < 1) throw bad(`partitions must be a positive integer, got ${s.partitions}`);
  if (!Number.isInteger(s.retentionMs) || s.retentionMs < -1) throw bad(`retentionMs must be -1 or a duration in ms, got ${s.retentionMs}`);
}

/**
 * A client of a Kafka (or Redpanda) cluster implementing the log port.
 *
 * @example
 * const log = new KafkaLog({ brokers: ["127.0.0.1:19092"] });
 * await log.createTopics([{ name: "market.ticks", partitions: 6, retentionMs: 86_400_000 }]);
 * await log.producer().send([{ topic: "market.ticks", key: "738561", value: "{}" }]);
 */
export class KafkaLog implements Log {
  readonly kind = "kafka" as const;
  private readonly settings: ClientSettings;
  private readonly consumerDefaults: ConsumerDefaults;
  private readonly tuning: ProducerTuning;
  private readonly replicationFactor: number;
  private readonly closers = new Set<{ close(): Promise<void> }>();
  private adminClient: Admin | undefined;
  private readonly partitionCounts = new Map<string, number>();
  private closed = false;

  constructor(options: KafkaLogOptions) {
    validate(options);
    installFastReads();
    installFastWrites();
    this.settings = {
      clientId: options.clientId ?? "alpha-panda",
      bootstrapBrokers: [...options.brokers],
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retries: options.retries ?? 5,
      retryDelay: options.retryDelayMs ?? 500,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.sasl ? { sasl: options.sasl } : {}),
    };
    this.consumerDefaults = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? KAFKA_SESSION_TIMEOUT_DEFAULT_MS,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? KAFKA_HEARTBEAT_INTERVAL_DEFAULT_MS,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      maxWaitMs: options.fetchMaxWaitMs ?? 100,
    };
    this.replicationFactor = options.replicationFactor ?? -1;
    // Unless told otherwise, producers retry and wait as every other client of this log.
    this.tuning = producerTuning({ retries: this.settings.retries, requestTimeoutMs: this.settings.requestTimeout, ...options.producer }).tuning;
  }

  private admin(): Admin {
    if (this.closed) throw new AlphaError("LOG_CLOSED", "the Kafka log is closed");
    this.adminClient ??= new Admin({ ...this.settings, clientId: `${this.settings.clientId}-admin` });
    return this.adminClient;
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<CreateTopicsResult> {
    for (const s of specs) validateSpec(s);
    const admin = this.admin();
    const present = new Set(await admin.listTopics().catch((err: unknown) => Promise.reject(toAlphaError(err, "listing topics"))));
    const created: string[] = [];
    const existing: string[] = [];
    for (const s of specs) {
      if (present.has(s.name) || created.includes(s.name)) {
        if (!existing.includes(s.name) && !created.includes(s.name)) existing.push(s.name);
        continue;
      }
      try {
        // One request per topic: a request's configs apply to all its topics, and retention differs.
        await admin.createTopics({
          topics: [s.name],
          partitions: s.partitions,
          replicas: this.replicationFactor,
          configs: [{ name: "retention.ms", value: String(s.retentionMs) }, ...(s.compact ? [{ name: "cleanup.policy", value: "compact" }] : [])],
        });
        created.push(s.name);
      } catch (err) {
        // Another process created it between our list and our create: it exists, as asked.
        if (hasApi(err, "TOPIC_ALREADY_EXISTS")) existing.push(s.name);
        else throw toAlphaError(err, `creating topic ${s.name}`);
      }
    }
    if (created.length > 0) await this.waitForLeaders(created);
    return { created, existing };
  }

  /**
   * A topic is created by the controller first and served by its leaders a moment later; until
   * then a send fails with UNKNOWN_TOPIC_OR_PARTITION. "Created" here means usable.
   */
  private async waitForLeaders(topics: string[], timeoutMs = 15_000): Promise<void> {
    const admin = this.admin();
    const until = Date.now() + timeoutMs;
    for (;;) {
      const md = await admin.metadata({ topics, forceUpdate: true }).catch(() => undefined);
      const ready = md && topics.every((t) => {
        const info = md.topics.get(t);
        return info !== undefined && info.partitions.length === info.partitionsCount && info.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
      if (Date.now() > until) {
        throw new AlphaError("LOG_UNAVAILABLE", `topics ${topics.join(", ")} were created but have no leader after ${timeoutMs} ms`, { canRetry: true });
      }
      await Bun.sleep(100);
    }
  }

  async listTopics(): Promise<TopicInfo[]> {
    const admin = this.admin();
    try {
      const names = (await admin.listTopics()).filter((n) => !n.startsWith("__"));
      if (names.length === 0) return [];
      const md = await admin.metadata({ topics: names, forceUpdate: true });
      return names.flatMap((name) => {
        const t = md.topics.get(name);
        return t ? [{ name, partitions: t.partitionsCount }] : [];
      });
    } catch (err) {
      throw toAlphaError(err, "listing topics");
    }
  }

  async endOffsets(topic: string): Promise<number[]> {
    const admin = this.admin();
    try {
      // Partition counts never shrink: learnt once per topic, so each call is one ListOffsets.
      let count = this.partitionCounts.get(topic);
      if (count === undefined) {
        const md = await admin.metadata({ topics: [topic] });
        count = md.topics.get(topic)?.partitionsCount ?? 0;
        if (count === 0) throw new AlphaError("TOPIC_UNKNOWN", `unknown topic "${topic}"`);
        this.partitionCounts.set(topic, count);
      }
      // Timestamp -1 asks for the latest offset: the one the next message will get.
      const [listed] = await admin.listOffsets({
        topics: [{ name: topic, partitions: Array.from({ length: count }, (_, i) => ({ partitionIndex: i, timestamp: -1n })) }],
      });
      const ends = new Array<number>(count).fill(0);
      for (const p of listed?.partitions ?? []) ends[p.partitionIndex] = Number(p.offset);
      return ends;
    } catch (err) {
      throw err instanceof AlphaError ? err : toAlphaError(err, `reading the end offsets of ${topic}`);
    }
  }

  async offsetRanges(topics: readonly string[]): Promise<Map<string, OffsetRange[]>> {
    const admin = this.admin();
    try {
      // Metadata for a topic that does not exist fails the whole request: ask only for those that do.
      const present = new Set(await admin.listTopics());
      const asked = topics.filter((t) => present.has(t));
      if (asked.length === 0) return new Map();
      const md = await admin.metadata({ topics: asked });
      const known = asked.flatMap((name) => {
        const count = md.topics.get(name)?.partitionsCount ?? 0;
        return count > 0 ? [{ name, count }] : [];
      });
      if (known.length === 0) return new Map();
      // -2: the earliest offset still held; -1: the next to be written.
      const list = (timestamp: bigint) =>
        admin.listOffsets({ topics: known.map(({ name, count }) => ({ name, partitions: Array.from({ length: count }, (_, i) => ({ partitionIndex: i, timestamp })) })) });
      const [starts, ends] = await Promise.all([list(-2n), list(-1n)]);
      const ranges = new Map<string, OffsetRange[]>(known.map(({ name, count }) => [name, Array.from({ length: count }, () => ({ start: 0, end: 0 }))]));
      for (const t of starts) for (const p of t.partitions) ranges.get(t.name)![p.partitionIndex]!.start = Number(p.offset);
      for (const t of ends) for (const p of t.partitions) ranges.get(t.name)![p.partitionIndex]!.end = Number(p.offset);
      return ranges;
    } catch (err) {
      throw err instanceof AlphaError ? err : toAlphaError(err, "reading topics' offsets");
    }
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    const admin = this.admin();
    try {
      const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
      // -1: nothing committed on that partition.
      return (group?.topics ?? []).flatMap((t) => t.partitions.filter((p) => p.committedOffset >= 0n).map((p) => ({ topic: t.name, partition: p.partitionIndex, next: Number(p.committedOffset) })));
    } catch (err) {
      throw toAlphaError(err, `reading the offsets group ${groupId} committed`);
    }
  }

  async consumerGroups(prefix: string): Promise<GroupInfo[]> {
    const admin = this.admin();
    try {
      const ids = [...(await admin.listGroups()).values()].filter((g) => g.id.startsWith(prefix) && g.state !== "Dead").map((g) => g.id);
      if (ids.length === 0) return [];
      const described = await admin.describeGroups({ groups: ids });
      return [...described.values()].map((g) => ({ id: g.id, members: g.members.size }));
    } catch (err) {
      throw toAlphaError(err, `listing the consumer groups ${prefix}*`);
    }
  }

  async seedOffsets(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const topics = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const o of offsets) topics.set(o.topic, [...(topics.get(o.topic) ?? []), { partition: o.partition, offset: BigInt(o.next) }]);
    try {
      await this.admin().alterConsumerGroupOffsets({ groupId, topics: [...topics].map(([name, partitionOffsets]) => ({ name, partitionOffsets })) });
    } catch (err) {
      throw toAlphaError(err, `committing group ${groupId}'s starting offsets`);
    }
  }

  producer(options: ProducerOptions = {}): Producer {
    if (this.closed) throw new AlphaError("LOG_CLOSED", "the Kafka log is closed");
    const p = new KafkaProducer(this.settings, options, this.tuning, (x) => this.closers.delete(x));
    this.closers.add(p);
    return p;
  }

  consumer(options: ConsumerOptions): Consumer {
    if (this.closed) throw new AlphaError("LOG_CLOSED", "the Kafka log is closed");
    const c = new KafkaConsumer(this.settings, this.consumerDefaults, options, (x) => this.closers.delete(x));
    this.closers.add(c);
    return c;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.closers].map((c) => c.close()));
    this.closers.clear();
    await this.adminClient?.close().catch(() => {});
  }
}
