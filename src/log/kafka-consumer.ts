/**
 * The log port's consumer over @platformatic/kafka: a classic consumer group, offsets committed by
 * hand after the handler resolved (in the background, while the next batch is handled), batches
 * read from the client's MessagesStream.
 *
 * The stream fetches ahead into its buffer, and on every rebalance it rewinds each partition to the
 * group's committed offset, so its buffer can hold messages of partitions this member lost and
 * messages it will fetch again. This consumer therefore keeps, per partition, the next offset it
 * delivered, and drops what is behind it or no longer assigned: the handler sees each offset once
 * per ownership, in order.
 */
import { coPartitionAssigner } from "./kafka-assigner.ts";
import {
  Consumer as KafkaClientConsumer,
  type CommitOptionsPartition,
  type ConsumerGroupJoinPayload,
  type Message,
  type MessagesStream,
} from "@platformatic/kafka";
import { AlphaError } from "../errors.ts";
import { needsRejoin, toAlphaError } from "./kafka-errors.ts";
import type { ClientSettings, ConsumerDefaults } from "./kafka.ts";
import type { BatchHandler, Consumer, ConsumerOptions, Headers, LogMessage, TopicPartition } from "./port.ts";

type Raw = Message<Buffer, Buffer, Buffer, Buffer>;
type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

const tp = (topic: string, partition: number) => `${topic}/${partition}`;
/** The least time between two offset commits of one consumer. */
export const COMMIT_EVERY_MS = 100;
const EMPTY = new Uint8Array(0);

function toLogMessage(m: Raw): LogMessage {
  const headers: Headers = {};
  for (const [k, v] of m.headerEntries) {
    // defineProperty: a header named "__proto__" must stay a header.
    Object.defineProperty(headers, k.toString("utf8"), { value: v ? v.toString("utf8") : "", enumerable: true, writable: true, configurable: true });
  }
  return {
    topic: m.topic,
    partition: m.partition,
    offset: Number(m.offset),
    key: m.key ? m.key.toString("utf8") : "",
    value: m.value ?? EMPTY,
    headers,
    timestamp: Number(m.timestamp),
  };
}

export class KafkaConsumer implements Consumer {
  readonly done: Promise<void>;
  /** The group settings it joined with: how soon a dead member's partitions move (fail-over). */
  readonly group: { sessionTimeoutMs: number; heartbeatIntervalMs: number; rebalanceTimeoutMs: number };
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private readonly client: KafkaClientConsumer<Buffer, Buffer, Buffer, Buffer>;
  private readonly maxBatch: number;
  private readonly what: string;
  private stream: Stream | undefined;
  private starting: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private shutdownDone: Promise<void> | undefined;
  private stopping = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  /** "topic/partition" → the offset after the last one handed to the handler. */
  private readonly delivered = new Map<string, bigint>();
  /** "topic/partition" → the offset to commit; kept until a commit of it succeeds. */
  private readonly uncommitted = new Map<string, CommitOptionsPartition>();
  /** Where the stream starts each assigned partition, as of its last offsets refresh. */
  private startPositions = new Map<string, CommitOptionsPartition>();
  private anchorPending = false;
  private readonly startRetries: number;
  /** The commit in flight, if any; `commitAgain` asks it to run once more when it is done. */
  private committing: Promise<void> | undefined;
  private commitAgain = false;
  /** When the last commit started, and the timer that starts the next one no sooner than COMMIT_EVERY_MS after it. */
  private lastCommitAt = 0;
  private commitTimer: Timer | undefined;

  constructor(
    settings: ClientSettings,
    defaults: ConsumerDefaults,
    private readonly options: ConsumerOptions,
    private readonly onClose: (c: KafkaConsumer) => void,
  ) {
    this.maxBatch = options.maxBatchSize ?? 500;
    this.startRetries = settings.retries;
    this.what = `group ${options.groupId} on ${options.topics.join(", ")}`;
    const sessionTimeout = options.sessionTimeoutMs ?? defaults.sessionTimeoutMs;
    this.group = {
      sessionTimeoutMs: sessionTimeout,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? Math.min(defaults.heartbeatIntervalMs, Math.floor(sessionTimeout / 3)),
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? defaults.rebalanceTimeoutMs,
    };
    this.client = new KafkaClientConsumer({
      ...settings,
      clientId: options.clientId ?? `${settings.clientId}-${options.groupId}`,
      // Nobody waits on a consumer's fetches: it rides out a broker outage for about a session
      // timeout (after which the group has moved on anyway) before `done` rejects LOG_UNAVAILABLE.
      retries: Math.max(settings.retries, Math.ceil(sessionTimeout / Math.max(settings.retryDelay, 1))),
      groupId: options.groupId,
      // Group settings go to the client itself, not only to consume(): the client rejoins on its
      // own (after a failed heartbeat or commit) with the settings it was constructed with.
      sessionTimeout,
      heartbeatInterval: this.group.heartbeatIntervalMs,
      rebalanceTimeout: this.group.rebalanceTimeoutMs,
      maxWaitTime: options.maxWaitMs ?? defaults.maxWaitMs,
      autocommit: false,
      autocreateTopics: false,
      partitionAssigner: coPartitionAssigner,
      maxBytes: 16 * 1024 * 1024,
      highWaterMark: Math.max(this.maxBatch, 64),
    });
    this.client.on("error", (err: unknown) => this.fail(toAlphaError(err, this.what)));
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A rejected `done` that nobody awaits must not crash the process.
    this.done.catch(() => {});
  }

  assignments(): TopicPartition[] {
    if (!this.stream || this.shutdownDone) return [];
    return (this.client.assignments ?? []).flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })));
  }

  run(handler: BatchHandler): Promise<void> {
    if (this.starting) return Promise.reject(new AlphaError("INTERNAL", "consumer.run called twice"));
    if (this.stopping) return Promise.reject(new AlphaError("LOG_CLOSED", "run on a closed consumer"));
    this.starting = this.start(handler);
    return this.starting;
  }

  private async start(handler: BatchHandler): Promise<void> {
    try {
      // The client's retries are sized to ride out an outage; a missing topic should not wait
      // that long, so look the topics up first with the log's own retry budget.
      await this.client.metadata({ topics: [...this.options.topics], retries: this.startRetries });
      // Joins the group, then opens the stream at the committed offsets (or the fallback).
      const stream = await this.client.consume({
        topics: [...this.options.topics],
        mode: "committed",
        fallbackMode: this.options.startFrom ?? "earliest",
        autocommit: false,
      });
      this.stream = stream;
      stream.on("error", (err: unknown) => this.fail(toAlphaError(err, this.what)));
      stream.on("offsets", () => this.noteStartPositions());
      // A 'readable' listener puts the stream in paused mode: it fetches up to its high-water
      // mark and we take() from its buffer at our pace.
      stream.on("readable", () => this.wake?.());
      stream.on("end", () => this.wake?.());
      stream.on("close", () => this.wake?.());
      this.client.on("consumer:group:join", (p: ConsumerGroupJoinPayload) => this.onJoin(p));
      // The stream's first offsets lookup runs after consume() resolved; "joined" means the
      // starting positions are fixed too (a "latest" consumer sees what is produced after run()).
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          stream.off("offsets", done);
          stream.off("error", done);
          stream.off("close", done);
          if (this.failure) reject(this.failure);
          else if (stream.destroyed) reject(new AlphaError("LOG_UNAVAILABLE", `${this.what}: the stream closed while starting`, { canRetry: true }));
          else resolve();
        };
        stream.on("offsets", done);
        stream.on("error", done);
        stream.on("close", done);
      });
      if (this.anchorPending) await this.anchor();
    } catch (err) {
      const e = err instanceof AlphaError ? err : toAlphaError(err, `joining ${this.what}`);
      this.failure ??= e;
      await this.shutdown();
      this.rejectDone(this.failure);
      throw e;
    }
    if (this.stopping) return; // close() was called while joining; it finishes the shutdown
    this.loop = this.consume(handler);
  }

  private fail(err: unknown): void {
    // What the client reports while we shut it down (a fetch cut short) is not a failure.
    if (this.shutdownDone) return;
    this.failure ??= err;
    this.wake?.();
  }

  private onJoin(payload: ConsumerGroupJoinPayload): void {
    const owned = new Set((payload.assignments ?? []).flatMap((a) => a.partitions.map((p) => tp(a.topic, p))));
    for (const key of this.delivered.keys()) if (!owned.has(key)) this.delivered.delete(key);
    for (const key of this.uncommitted.keys()) if (!owned.has(key)) this.uncommitted.delete(key);
    this.wake?.();
  }

  /** The stream (re)computed where it starts each partition; a "latest" group commits them. */
  private noteStartPositions(): void {
    if (this.options.startFrom !== "latest" || !this.stream) return;
    const positions = new Map<string, CommitOptionsPartition>();
    for (const a of this.client.assignments ?? []) {
      for (const partition of a.partitions) {
        const offset = this.stream.offsetsToFetch.get(`${a.topic}:${partition}`);
        if (offset !== undefined) positions.set(tp(a.topic, partition), { topic: a.topic, partition, offset, leaderEpoch: -1 });
      }
    }
    this.startPositions = positions;
    this.anchorPending = true;
    this.wake?.();
  }

  /**
   * A "latest" group commits its starting point on partitions where it has no offset yet, so a
   * restart before the first message resumes there instead of skipping to the new end (as the
   * in-process log does). Runs in the consume loop, never beside one of its commits.
   */
  private async anchor(): Promise<void> {
    this.anchorPending = false;
    const candidates = [...this.startPositions].filter(([key]) => !this.delivered.has(key) && !this.uncommitted.has(key));
    if (candidates.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const [, o] of candidates) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.partition]);
    try {
      const committed = await this.client.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      const offsets = candidates.map(([, o]) => o).filter((o) => (committed.get(o.topic)?.[o.partition] ?? 0n) < 0n);
      if (offsets.length > 0) await this.client.commit({ offsets });
    } catch (err) {
      if (!needsRejoin(err)) throw toAlphaError(err, `committing the starting offsets of ${this.what}`);
    }
  }

  private owned(): Set<string> {
    return new Set((this.client.assignments ?? []).flatMap((a) => a.partitions.map((p) => tp(a.topic, p))));
  }

  /**
   * Up to maxBatch messages from the stream's buffer, without duplicates or revoked partitions,
   * and the last of them per partition (what the batch's commit covers). A fetch brings each
   * partition's messages together, so a partition's key is made once per run of them.
   */
  private take(stream: Stream): { raw: Raw[]; last: Map<string, Raw> } {
    const raw: Raw[] = [];
    const last = new Map<string, Raw>();
    const owned = this.owned();
    let topic = "";
    let partition = -1;
    let key = "";
    let isOwned = false;
    let next: bigint | undefined;
    while (raw.length < this.maxBatch) {
      const m = stream.read() as Raw | null;
      if (m === null) break;
      if (m.partition !== partition || m.topic !== topic) {
        if (key !== "" && next !== undefined) this.delivered.set(key, next);
        topic = m.topic;
        partition = m.partition;
        key = tp(topic, partition);
        isOwned = owned.has(key);
        next = this.delivered.get(key);
      }
      if (!isOwned) continue;
      if (next !== undefined && m.offset < next) continue;
      next = m.offset + 1n;
      raw.push(m);
      last.set(key, m);
    }
    if (key !== "" && next !== undefined) this.delivered.set(key, next);
    return { raw, last };
  }

  private waitForData(stream: Stream): Promise<void> {
    return new Promise((resolve) => {
      // A timer as a backstop: a wakeup is never needed for correctness, only for latency.
      const timer = setTimeout(finish, 1_000);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = finish;
      if (stream.readableLength > 0 || this.stopping || this.failure) finish();
    });
  }

  private async consume(handler: BatchHandler): Promise<void> {
    const stream = this.stream!;
    try {
      while (!this.stopping && !this.failure) {
        if (this.anchorPending) {
          await this.committing;
          await this.anchor();
        }
        const { raw, last } = this.take(stream);
        if (raw.length === 0) {
          if (stream.destroyed || stream.readableEnded) {
            throw new AlphaError("LOG_UNAVAILABLE", `${this.what}: the client's stream ended`, { canRetry: true });
          }
          await this.waitForData(stream);
          continue;
        }
        await handler(raw.map(toLogMessage));
        for (const [key, m] of last) {
          this.uncommitted.set(key, { topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: m.leaderEpoch });
        }
        this.commitSoon();
      }
      if (this.failure) throw this.failure;
    } catch (err) {
      this.failure ??= err;
    } finally {
      this.wake = undefined;
      await this.shutdown();
      if (this.failure) this.rejectDone(this.failure);
      else this.resolveDone();
    }
  }

  /**
   * Commits in the background: the next batch is fetched and handled while the offsets of this one
   * are on their way (a commit is a round trip to the group coordinator; waiting for it before
   * every batch put one in front of every message). One commit at a time, in order, at most one
   * every COMMIT_EVERY_MS; what is handled meanwhile goes in the next one. (A commit per batch was
   * hundreds a second per consumer at a few thousand messages a second, each a write to
   * __consumer_offsets on the broker; a crash redelivers at most that interval's messages, which
   * the stages' dedup and idempotent inputs absorb.) A failed commit fails the consumer.
   */
  private commitSoon(): void {
    if (this.committing) {
      this.commitAgain = true;
      return;
    }
    if (this.commitTimer) return;
    const wait = this.lastCommitAt + COMMIT_EVERY_MS - Date.now();
    if (wait > 0) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        if (!this.shutdownDone) this.commitSoon();
      }, wait);
      return;
    }
    this.committing = (async () => {
      try {
        this.commitAgain = false;
        this.lastCommitAt = Date.now();
        await this.commit();
      } catch (err) {
        this.fail(err);
      } finally {
        this.committing = undefined;
      }
      // What was handled during the last commit waits for the interval, not for the next batch.
      if (this.commitAgain && !this.shutdownDone && !this.failure) {
        this.commitAgain = false;
        this.commitSoon();
      }
    })();
  }

  /**
   * Commits what the handler finished, on partitions this member still owns. A commit refused
   * because the group is rebalancing is kept and retried after the next batch (or at close): the
   * offsets are this member's to commit only if it keeps the partition.
   */
  private async commit(): Promise<void> {
    const owned = this.owned();
    const offsets: CommitOptionsPartition[] = [];
    for (const [key, o] of this.uncommitted) {
      if (owned.has(key)) offsets.push(o);
      else this.uncommitted.delete(key);
    }
    if (offsets.length === 0) return;
    try {
      await this.client.commit({ offsets });
    } catch (err) {
      if (needsRejoin(err)) return;
      throw toAlphaError(err, `commit of ${this.what}`);
    }
    for (const o of offsets) {
      const key = tp(o.topic, o.partition);
      if (this.uncommitted.get(key) === o) this.uncommitted.delete(key);
    }
  }

  /** Last commits, stream closed, group left (so the others get the partitions at once). */
  private shutdown(): Promise<void> {
    this.shutdownDone ??= (async () => {
      this.stopping = true;
      clearTimeout(this.commitTimer);
      this.commitTimer = undefined;
      if (this.stream) {
        await this.committing;
        await this.commit().catch(() => {});
        await this.stream.close().catch(() => {});
      }
      await this.client.close().catch(() => this.client.close(true).catch(() => {}));
      this.onClose(this);
    })();
    return this.shutdownDone;
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.starting?.catch(() => {});
    if (this.loop) await this.loop;
    else await this.shutdown();
    if (!this.failure) this.resolveDone();
    else this.rejectDone(this.failure);
  }
}
