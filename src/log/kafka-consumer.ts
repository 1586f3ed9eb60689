/**
 * The log port's consumer over @platformatic/kafka: a classic consumer group, offsets committed by
 * hand after the handler resolved (in the background, while the next batch is handled), batches
 * read from the client's MessagesStream.
 *
 * The stream fetches ahead into its buffer, and on every rebalance it rewinds each partition to the
 * group's committed offset, so its buffer can hold messages of partitions this member lost and
 * messages it will fetch again. This consumer therefore keeps, per partition, the next offset it
 * delivered, and drops what is behind it or no longer assigned: the handler sees each offset once
 * per ownership, in order (src/log/kafka-batches.ts). Commits: src/log/kafka-commits.ts.
 */
import { coPartitionAssigner } from "./kafka-assigner.ts";
import { Consumer as KafkaClientConsumer, type CommitOptionsPartition, type ConsumerGroupJoinPayload } from "@platformatic/kafka";
import { AlphaError } from "../errors.ts";
import { takeBatch, toLogMessage, type Stream } from "./kafka-batches.ts";
import { OffsetCommits, tp } from "./kafka-commits.ts";
import { needsRejoin, toAlphaError } from "./kafka-errors.ts";
import type { ClientSettings, ConsumerDefaults } from "./kafka.ts";
import type { BatchHandler, Consumer, ConsumerOptions, TopicPartition } from "./port.ts";

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
  /** Where the stream starts each assigned partition, as of its last offsets refresh. */
  private startPositions = new Map<string, CommitOptionsPartition>();
  private anchorPending = false;
  private readonly startRetries: number;
  private readonly commits: OffsetCommits;

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
    this.commits = new OffsetCommits({
      client: this.client,
      owned: () => this.owned(),
      what: this.what,
      fail: (err) => this.fail(err),
      shuttingDown: () => this.shutdownDone !== undefined,
      failed: () => this.failure !== undefined,
    });
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
    this.commits.keepOnly(owned);
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
    const candidates = [...this.startPositions].filter(([key]) => !this.delivered.has(key) && !this.commits.has(key));
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
          await this.commits.settled();
          await this.anchor();
        }
        const { raw, last } = takeBatch(stream, this.maxBatch, this.owned(), this.delivered);
        if (raw.length === 0) {
          if (stream.destroyed || stream.readableEnded) {
            throw new AlphaError("LOG_UNAVAILABLE", `${this.what}: the client's stream ended`, { canRetry: true });
          }
          await this.waitForData(stream);
          continue;
        }
        await handler(raw.map(toLogMessage));
        this.commits.handled(last);
        this.commits.soon();
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

  /** Last commits, stream closed, group left (so the others get the partitions at once). */
  private shutdown(): Promise<void> {
    this.shutdownDone ??= (async () => {
      this.stopping = true;
      this.commits.stop();
      if (this.stream) {
        await this.commits.settled();
        await this.commits.commit().catch(() => {});
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
