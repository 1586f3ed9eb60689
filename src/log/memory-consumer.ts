/**
 * A consumer of the in-process log (src/log/memory.ts): joins its group on the broker, reads its
 * partitions from the committed offsets, and commits a batch once the handler resolved.
 */
import { AlphaError } from "../errors.ts";
import type { MemoryBroker } from "./memory-broker.ts";
import { tp, type Partition } from "./memory-groups.ts";
import type { BatchHandler, Consumer, ConsumerOptions, LogMessage, TopicPartition } from "./port.ts";

/** A consumer's place in one of its partitions. */
interface Cursor {
  topic: string;
  partition: number;
  /** tp(topic, partition) */
  key: string;
  p: Partition;
  /** The next offset to read. */
  pos: number;
}

/** A member of a consumer group of a {@link MemoryBroker}: fetches, hands over, commits. */
export class MemoryConsumer implements Consumer {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private member: ReturnType<MemoryBroker["join"]> | undefined;
  private running = false;
  private closing = false;
  /** Resolves the fetch loop's wait for data, while it waits. */
  private wakeup: (() => void) | undefined;
  /** Ends the wait, if the loop waits (new data, a new assignment, closing). */
  private readonly wake = () => {
    const w = this.wakeup;
    this.wakeup = undefined;
    w?.();
  };
  /** The frozen copy of the member's assignment that `assignments()` hands out, and of which list. */
  private copied: { from: TopicPartition[]; entries: TopicPartition[] } | undefined;
  /** The partitions whose listeners include `wake`. */
  private listening: Partition[] = [];
  private loop: Promise<void> | undefined;
  /** What this member reads, where it is in each; rebuilt (from the commits) when the assignment changes. */
  private cursors: Cursor[] | undefined;
  private readonly maxBatch: number;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly options: ConsumerOptions,
    private readonly onClose: (c: MemoryConsumer) => void,
  ) {
    this.maxBatch = options.maxBatchSize ?? 500;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A rejected `done` that nobody awaits must not crash the process.
    this.done.catch(() => {});
  }

  assignments(): TopicPartition[] {
    const m = this.member;
    if (!m) return [];
    // A rebalance gives the member a new list; its copy is made once, of frozen entries, and
    // each caller gets its own array of them (the bridge asks on every batch it pushes).
    if (this.copied?.from !== m.assignment) this.copied = { from: m.assignment, entries: m.assignment.map((a) => Object.freeze({ ...a })) };
    return this.copied.entries.slice();
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.running) throw new AlphaError("INTERNAL", "consumer.run called twice");
    if (this.closing) throw new AlphaError("LOG_CLOSED", "run on a closed consumer");
    this.running = true;
    this.member = this.broker.join(
      this.options.groupId,
      this.options.topics,
      () => {
        this.cursors = undefined;
        this.wake();
      },
      this.options.startFrom,
    );
    this.loop = this.fetchLoop(handler);
  }

  private cursor(topic: string, partition: number): Cursor {
    const key = tp(topic, partition);
    const committed = this.broker.committed(this.options.groupId, topic, partition);
    const pos = committed ?? (this.options.startFrom === "latest" ? this.broker.endOffset(topic, partition) : 0);
    // A group that starts at "latest" commits its starting point, so a restart resumes there.
    if (committed === undefined && this.options.startFrom === "latest") {
      this.broker.commit(this.options.groupId, new Map([[key, { topic, partition, next: pos }]]));
    }
    return { topic, partition, key, p: this.broker.partitionRef(topic, partition), pos };
  }

  private async fetchLoop(handler: BatchHandler): Promise<void> {
    let start = 0;
    try {
      while (!this.closing) {
        let cursors = this.cursors;
        if (!cursors) {
          cursors = this.cursors = this.member!.assignment.map((a) => this.cursor(a.topic, a.partition));
          this.listen(cursors.map((c) => c.p));
        }
        const batch: LogMessage[] = [];
        // What the batch takes of each partition: committed when the handler is done.
        const offsets = new Map<string, { topic: string; partition: number; next: number }>();
        const taken: Array<[Cursor, number]> = [];
        // Start at a different partition each round so one busy partition cannot starve the rest.
        for (let i = 0; i < cursors.length && batch.length < this.maxBatch; i++) {
          const c = cursors[(start + i) % cursors.length]!;
          const { base, messages } = c.p;
          const from = Math.max(c.pos - base, 0);
          const n = Math.min(messages.length - from, this.maxBatch - batch.length);
          if (n <= 0) continue;
          for (let k = from; k < from + n; k++) batch.push(messages[k]!);
          const next = base + from + n;
          offsets.set(c.key, { topic: c.topic, partition: c.partition, next });
          taken.push([c, next]);
        }
        start++;
        if (batch.length === 0) {
          // Nothing came since the partitions were read (this is the same turn): wait to be told.
          await new Promise<void>((resolve) => (this.wakeup = resolve));
          continue;
        }
        await handler(batch);
        this.broker.commit(this.options.groupId, offsets);
        // Unless the partitions moved meanwhile (then the cursors are rebuilt from the commits).
        if (this.cursors === cursors) for (const [c, next] of taken) c.pos = next;
      }
      this.resolveDone();
    } catch (err) {
      this.rejectDone(err);
    } finally {
      this.listen([]);
      if (this.member) this.broker.leave(this.options.groupId, this.member);
    }
  }

  /** Listens to these partitions for new data, and no longer to the others. */
  private listen(partitions: Partition[]): void {
    for (const p of this.listening) p.listeners.delete(this.wake);
    for (const p of partitions) p.listeners.add(this.wake);
    this.listening = partitions;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wake();
    await this.loop?.catch(() => {});
    if (!this.running) this.resolveDone();
    this.onClose(this);
  }
}
