/**
 * The in-process log of the embedded mode. `MemoryBroker` holds the data (topics, partitions,
 * consumer groups and their committed offsets); `MemoryLog` is a client onto it, so closing a
 * client loses nothing, as with a real broker.
 *
 * Memory is bounded: a partition holds at most `maxMessagesPerPartition` messages. Room is made
 * only by dropping messages every group on the topic has committed; when the oldest message is
 * still unread by some group, the producer waits for that group (backpressure) and, after
 * `produceTimeoutMs`, refuses with LOG_FULL naming the lagging group. Nothing is dropped unread.
 * Messages every group has read are dropped as the groups commit, but for the newest
 * `retainReadMessages` of each partition that are younger than `retainReadMs` (for a group that
 * joins late, e.g. a worker starting): a partition full of read messages would otherwise hold
 * hundreds of megabytes for nothing, and a quiet topic (orders, a few a second) would take its
 * `retainReadMessages` only after half an hour, growing all the while.
 *
 * With a `journal` (src/log/journal.ts) the broker survives a kill -9: each message of a journaled
 * topic and each commit of a group is written to it before the produce is acknowledged or the
 * commit taken, and a new broker starts from what the journal holds: the messages some group has
 * not committed yet (within the topic's retention), at their offsets, and every group's commits.
 * A group whose consumers start at "latest" (the gateway's push groups, named afresh at each
 * start) reads only what comes while it runs: its commits are not journaled, so it never pins
 * the log across restarts.
 */
import { AlphaError } from "../errors.ts";
import { MemoryBroker } from "./memory-broker.ts";
import { MemoryConsumer } from "./memory-consumer.ts";
import type { CommittedOffset, Consumer, ConsumerOptions, CreateTopicsResult, Log, OffsetRange, OutgoingMessage, Producer, ProducerOptions, TopicInfo, TopicSpec } from "./port.ts";
import { SendGate } from "./semaphore.ts";

export { MemoryBroker, type MemoryBrokerOptions } from "./memory-broker.ts";

/**
 * A client of a {@link MemoryBroker}: the embedded mode's implementation of the log port.
 *
 * @example
 * const log = new MemoryLog(new MemoryBroker());
 * await log.createTopics([{ name: "market.ticks", partitions: 6, retentionMs: 86_400_000 }]);
 */
export class MemoryLog implements Log {
  readonly kind = "memory" as const;
  private readonly closers = new Set<{ close(): Promise<void> }>();

  constructor(readonly broker: MemoryBroker = new MemoryBroker()) {}

  async createTopics(specs: readonly TopicSpec[]): Promise<CreateTopicsResult> {
    return this.broker.createTopics(specs);
  }

  async listTopics(): Promise<TopicInfo[]> {
    return this.broker.listTopics();
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.broker.endOffsets(topic);
  }

  async offsetRanges(topics: readonly string[]): Promise<Map<string, OffsetRange[]>> {
    const known = new Map(this.broker.listTopics().map((t) => [t.name, t.partitions]));
    const ranges = new Map<string, OffsetRange[]>();
    for (const topic of topics) {
      const count = known.get(topic);
      if (count === undefined) continue;
      ranges.set(topic, Array.from({ length: count }, (_, p) => ({ start: this.broker.partitionRef(topic, p).base, end: this.broker.endOffset(topic, p) })));
    }
    return ranges;
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    const out: CommittedOffset[] = [];
    for (const { name, partitions } of this.broker.listTopics()) {
      for (let partition = 0; partition < partitions; partition++) {
        const next = this.broker.committed(groupId, name, partition);
        if (next !== undefined) out.push({ topic: name, partition, next });
      }
    }
    return out;
  }

  producer(options: ProducerOptions = {}): Producer {
    const producer = new MemoryProducer(this.broker, options, (p) => this.closers.delete(p));
    this.closers.add(producer);
    return producer;
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = new MemoryConsumer(this.broker, options, (c) => this.closers.delete(c));
    this.closers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.closers].map((c) => c.close()));
    this.closers.clear();
  }
}

class MemoryProducer implements Producer {
  private closed = false;
  private readonly gate: SendGate;

  constructor(
    private readonly broker: MemoryBroker,
    options: ProducerOptions,
    private readonly onClose: (p: MemoryProducer) => void,
  ) {
    this.gate = new SendGate(options.maxInFlight ?? 8, options.maxQueued ?? 1024, `producer ${options.clientId ?? "memory"}`);
  }

  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new AlphaError("LOG_CLOSED", "send on a closed producer");
    // The gate's slot is held across a macrotask so that concurrent sends queue as they would
    // against a network broker, and the maxInFlight/maxQueued bounds mean the same thing here.
    await this.gate.run(async () => {
      await this.broker.append(messages);
      await new Promise<void>((r) => setImmediate(r));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.gate.idle();
    this.onClose(this);
  }
}
