/**
 * A Kafka consumer's offset commits (src/log/kafka-consumer.ts), in the background: the next batch
 * is fetched and handled while the offsets of this one are on their way, since a commit is a round
 * trip to the group coordinator. One commit at a time, in order, at most one every
 * COMMIT_EVERY_MS; what is handled meanwhile goes in the next one. A crash redelivers at most that
 * interval's messages, which the stages' dedup and idempotent inputs absorb. A failed commit fails
 * the consumer.
 */
import type { CommitOptionsPartition, Consumer as KafkaClientConsumer } from "@platformatic/kafka";
import { needsRejoin, toAlphaError } from "./kafka-errors.ts";

/** The least time between two offset commits of one consumer. */
export const COMMIT_EVERY_MS = 100;

/** The key of a topic-partition. */
export const tp = (topic: string, partition: number) => `${topic}/${partition}`;

/** What the commits need of their consumer. */
export interface CommitsOwner {
  client: Pick<KafkaClientConsumer<Buffer, Buffer, Buffer, Buffer>, "commit">;
  /** The partitions this member owns now ("topic/partition"). */
  owned(): Set<string>;
  /** For error messages: the group and its topics. */
  what: string;
  fail(err: unknown): void;
  /** Whether the consumer is shutting down (no new commit is scheduled then). */
  shuttingDown(): boolean;
  failed(): boolean;
}

export class OffsetCommits {
  /** "topic/partition" → the offset to commit; kept until a commit of it succeeds. */
  private readonly uncommitted = new Map<string, CommitOptionsPartition>();
  /** The commit in flight, if any; `again` asks it to run once more when it is done. */
  private committing: Promise<void> | undefined;
  private again = false;
  /** When the last commit started, and the timer that starts the next one no sooner than COMMIT_EVERY_MS after it. */
  private lastCommitAt = 0;
  private timer: Timer | undefined;

  constructor(private readonly owner: CommitsOwner) {}

  /** Whether an offset of this partition waits to be committed. */
  has(key: string): boolean {
    return this.uncommitted.has(key);
  }

  /** The next offsets to commit: one past the last message handled of each partition. */
  handled(last: ReadonlyMap<string, { topic: string; partition: number; offset: bigint; leaderEpoch: number }>): void {
    for (const [key, m] of last) this.uncommitted.set(key, { topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: m.leaderEpoch });
  }

  /** Forgets the partitions this member no longer owns. */
  keepOnly(owned: ReadonlySet<string>): void {
    for (const key of this.uncommitted.keys()) if (!owned.has(key)) this.uncommitted.delete(key);
  }

  /** The commit in flight, if any, settled. */
  async settled(): Promise<void> {
    await this.committing;
  }

  /** Starts a commit now, or schedules one (see the top of this file). */
  soon(): void {
    if (this.committing) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = this.lastCommitAt + COMMIT_EVERY_MS - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.owner.shuttingDown()) this.soon();
      }, wait);
      return;
    }
    this.committing = (async () => {
      try {
        this.again = false;
        this.lastCommitAt = Date.now();
        await this.commit();
      } catch (err) {
        this.owner.fail(err);
      } finally {
        this.committing = undefined;
      }
      // What was handled during the last commit waits for the interval, not for the next batch.
      if (this.again && !this.owner.shuttingDown() && !this.owner.failed()) {
        this.again = false;
        this.soon();
      }
    })();
  }

  /** No more scheduled commits. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Commits what the handler finished, on partitions this member still owns. A commit refused
   * because the group is rebalancing is kept and retried after the next batch (or at close): the
   * offsets are this member's to commit only if it keeps the partition.
   */
  async commit(): Promise<void> {
    const owned = this.owner.owned();
    const offsets: CommitOptionsPartition[] = [];
    for (const [key, o] of this.uncommitted) {
      if (owned.has(key)) offsets.push(o);
      else this.uncommitted.delete(key);
    }
    if (offsets.length === 0) return;
    try {
      await this.owner.client.commit({ offsets });
    } catch (err) {
      if (needsRejoin(err)) return;
      throw toAlphaError(err, `commit of ${this.owner.what}`);
    }
    for (const o of offsets) {
      const key = tp(o.topic, o.partition);
      if (this.uncommitted.get(key) === o) this.uncommitted.delete(key);
    }
  }
}
