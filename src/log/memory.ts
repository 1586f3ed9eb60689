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
import type { Journal, RecoveredPartition } from "./journal.ts";
import { partitionFor } from "./partitioner.ts";
import type {
  BatchHandler,
  Consumer,
  ConsumerOptions,
  CreateTopicsResult,
  Headers,
  Log,
  LogMessage,
  OutgoingMessage,
  Producer,
  ProducerOptions,
  TopicInfo,
  TopicPartition,
  TopicSpec,
} from "./port.ts";
import { utf8 } from "./port.ts";
import { SendGate } from "./semaphore.ts";

export interface MemoryBrokerOptions {
  /** Messages a partition keeps at most (default 200,000). */
  maxMessagesPerPartition?: number;
  /** How long a producer waits for room before LOG_FULL (default 30 s). */
  produceTimeoutMs?: number;
  /** Messages every group has read that a partition still keeps (default 5,000)... */
  retainReadMessages?: number;
  /** ...if they are younger than this (default 60 s). */
  retainReadMs?: number;
  /** Keeps what is acknowledged across a crash; the broker starts from what it holds. */
  journal?: Journal;
}

interface Partition {
  /** Offset of messages[0]. */
  base: number;
  messages: LogMessage[];
  /**
   * The consumers reading it, each told of new data by its notifier. Registered while a consumer
   * reads the partition, not per wait: a timer and a registration per wait were ~7% of the main
   * thread's time under load.
   */
  listeners: Set<() => void>;
  /** Producers waiting for room. */
  roomWaiters: Set<() => void>;
}

interface Topic {
  spec: TopicSpec;
  partitions: Partition[];
  /** Its messages go to the journal (decided once: ticks must not pay a lookup each). */
  journaled: boolean;
}

interface Member {
  id: number;
  topics: readonly string[];
  assignment: TopicPartition[];
  onAssign: () => void;
}

interface Group {
  members: Member[];
  /** "topic/partition" → next offset to read. */
  committed: Map<string, number>;
  /** Its consumers start at "latest": not journaled (see the module's comment). */
  fromLatest: boolean;
  /** With a journal: the topics it reads, so what it has not read is kept even before its first commit. */
  reads: Set<string>;
}

const tp = (topic: string, partition: number) => `${topic}/${partition}`;

/** Tells the readers of these partitions that they have new messages, and forgets them. */
function notify(touched: Set<Partition>): void {
  for (const p of touched) for (const listener of p.listeners) listener();
  touched.clear();
}

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

/**
 * Holds the embedded log's data. One per process, on the main thread; workers reach it through
 * `serveLog` / `RemoteLog`.
 *
 * @example
 * const broker = new MemoryBroker();
 * const log = new MemoryLog(broker);
 */
export class MemoryBroker {
  readonly maxMessagesPerPartition: number;
  readonly produceTimeoutMs: number;
  readonly retainReadMessages: number;
  readonly retainReadMs: number;
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private nextMemberId = 1;
  private readonly journal: Journal | undefined;
  /** Partitions the journal held whose topic is not created yet. */
  private readonly recovered: Map<string, Map<number, RecoveredPartition>>;

  constructor(options: MemoryBrokerOptions = {}) {
    this.maxMessagesPerPartition = options.maxMessagesPerPartition ?? 200_000;
    this.produceTimeoutMs = options.produceTimeoutMs ?? 30_000;
    this.retainReadMessages = options.retainReadMessages ?? 5_000;
    this.retainReadMs = options.retainReadMs ?? 60_000;
    this.journal = options.journal;
    this.recovered = this.journal?.recovered.topics ?? new Map();
    for (const [id, g] of this.journal?.recovered.groups ?? []) {
      this.groups.set(id, { members: [], committed: new Map(g.committed), fromLatest: false, reads: new Set(g.reads) });
    }
    // Rewritten at start, keeping only what is still needed.
    this.journal?.compact(() => this.snapshot());
  }

  createTopics(specs: readonly TopicSpec[]): CreateTopicsResult {
    const result: CreateTopicsResult = { created: [], existing: [] };
    for (const spec of specs) {
      if (this.topics.has(spec.name)) {
        result.existing.push(spec.name);
        continue;
      }
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new AlphaError("CONFIG_INVALID", `topic ${spec.name}: partitions must be a positive integer, got ${spec.partitions}`);
      }
      const partitions = Array.from({ length: spec.partitions }, () => ({
        base: 0,
        messages: [],
        listeners: new Set<() => void>(),
        roomWaiters: new Set<() => void>(),
      }));
      this.topics.set(spec.name, { spec: { ...spec }, partitions, journaled: this.journal?.journals(spec.name) ?? false });
      this.restore(spec, partitions);
      result.created.push(spec.name);
    }
    return result;
  }

  listTopics(): TopicInfo[] {
    return [...this.topics.values()].map((t) => ({ name: t.spec.name, partitions: t.partitions.length }));
  }

  private topic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) throw new AlphaError("TOPIC_UNKNOWN", `unknown topic "${name}"`);
    return t;
  }

  /** Appends messages; waits for room when a partition is full of unread messages. */
  async append(messages: readonly OutgoingMessage[]): Promise<void> {
    // The partitions with new messages, whose readers are told once, when the batch is in (or
    // before waiting for room: they may be the ones to make it).
    const touched = new Set<Partition>();
    for (const m of messages) {
      if (typeof m.key !== "string" || m.key.length === 0) {
        throw new AlphaError("PAYLOAD_INVALID", `message for ${m.topic} has no key; every message must be keyed`);
      }
      const topic = this.topic(m.topic);
      const partition = partitionFor(m.key, topic.partitions.length);
      const p = topic.partitions[partition]!;
      if (p.messages.length >= this.maxMessagesPerPartition) {
        this.flush();
        notify(touched);
        await this.makeRoom(m.topic, partition, p);
      }
      const value = typeof m.value === "string" ? utf8.encode(m.value) : m.value.slice();
      const message: LogMessage = {
        topic: m.topic,
        partition,
        offset: p.base + p.messages.length,
        key: m.key,
        value,
        headers: copyHeaders(m.headers),
        timestamp: Date.now(),
      };
      p.messages.push(message);
      if (topic.journaled) this.journal!.message(message);
      if (p.listeners.size > 0) touched.add(p);
    }
    // In the journal before any reader is told or the producer acknowledged.
    this.flush();
    notify(touched);
  }

  /** Writes what the journal was given to the OS; compacts it once its segment is large. */
  private flush(): void {
    if (this.journal?.flush()) this.journal.compact(() => this.snapshot());
  }

  /** Drops messages every group has committed; waits (bounded) while the oldest is unread. */
  private async makeRoom(topic: string, partition: number, p: Partition): Promise<void> {
    const deadline = Date.now() + this.produceTimeoutMs;
    while (p.messages.length >= this.maxMessagesPerPartition) {
      const readUpTo = this.keepsAll(topic) ? p.base : this.lowestCommitted(topic, partition, p.base + p.messages.length);
      const droppable = Math.min(readUpTo - p.base, p.messages.length);
      if (droppable > 0) {
        p.messages.splice(0, droppable);
        p.base += droppable;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AlphaError(
          "LOG_FULL",
          `${topic}/${partition} holds ${p.messages.length} unread messages (the limit) and group "${this.laggingGroup(topic, partition, p.base)}" has not read them for ${this.produceTimeoutMs} ms`,
          { canRetry: true },
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          p.roomWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        p.roomWaiters.add(wake);
      });
    }
  }

  private groupsOn(topic: string): Array<[string, Group]> {
    const prefix = `${topic}/`;
    return [...this.groups].filter(
      ([, g]) => g.reads.has(topic) || g.members.some((m) => m.topics.includes(topic)) || [...g.committed.keys()].some((k) => k.startsWith(prefix)),
    );
  }

  private lowestCommitted(topic: string, partition: number, end: number): number {
    let low = end;
    for (const [, g] of this.groupsOn(topic)) low = Math.min(low, g.committed.get(tp(topic, partition)) ?? 0);
    return low;
  }

  private laggingGroup(topic: string, partition: number, base: number): string {
    for (const [id, g] of this.groupsOn(topic)) if ((g.committed.get(tp(topic, partition)) ?? 0) <= base) return id;
    return "?";
  }

  /** Messages from `offset` on, at most `max`. */
  read(topic: string, partition: number, offset: number, max: number): LogMessage[] {
    const p = this.topic(topic).partitions[partition]!;
    const from = Math.max(offset - p.base, 0);
    return p.messages.slice(from, from + max);
  }

  /** @internal A partition itself, for a consumer that reads it many times (no lookups per read). */
  partitionRef(topic: string, partition: number): Partition {
    return this.topic(topic).partitions[partition]!;
  }

  endOffset(topic: string, partition: number): number {
    const p = this.topic(topic).partitions[partition]!;
    return p.base + p.messages.length;
  }

  endOffsets(topic: string): number[] {
    return this.topic(topic).partitions.map((p) => p.base + p.messages.length);
  }

  /** A compacted topic's messages are all kept: its readers read it from the start each time. */
  private keepsAll(topic: string): boolean {
    return this.topics.get(topic)?.spec.compact === true;
  }

  join(groupId: string, topics: readonly string[], onAssign: () => void, startFrom: "earliest" | "latest" = "earliest"): Member {
    for (const t of topics) this.topic(t);
    const group: Group = this.groups.get(groupId) ?? { members: [], committed: new Map(), fromLatest: startFrom === "latest", reads: new Set() };
    this.groups.set(groupId, group);
    if (this.journal && !group.fromLatest) {
      for (const t of topics) {
        // A compacted topic is kept whole anyway: its readers (one group each) need no journal entry.
        if (group.reads.has(t) || !this.journal.journals(t) || this.keepsAll(t)) continue;
        group.reads.add(t);
        this.journal.reads(groupId, t);
      }
      this.flush();
    }
    const member: Member = { id: this.nextMemberId++, topics: [...topics], assignment: [], onAssign };
    group.members.push(member);
    this.rebalance(group);
    return member;
  }

  leave(groupId: string, member: Member): void {
    const group = this.groups.get(groupId);
    if (!group) return;
    group.members = group.members.filter((m) => m !== member);
    member.assignment = [];
    // A reader of compacted topics only (a group of its own each time) leaves nothing to keep.
    if (group.members.length === 0 && group.reads.size === 0 && member.topics.every((t) => this.keepsAll(t))) {
      this.groups.delete(groupId);
      return;
    }
    this.rebalance(group);
  }

  /** Partition i of a topic goes to the (i mod n)-th member subscribed to it, in join order. */
  private rebalance(group: Group): void {
    for (const m of group.members) m.assignment = [];
    const topics = new Set(group.members.flatMap((m) => m.topics));
    for (const t of topics) {
      const subscribers = group.members.filter((m) => m.topics.includes(t));
      const count = this.topic(t).partitions.length;
      for (let i = 0; i < count; i++) subscribers[i % subscribers.length]!.assignment.push({ topic: t, partition: i });
    }
    for (const m of group.members) m.onAssign();
  }

  committed(groupId: string, topic: string, partition: number): number | undefined {
    return this.groups.get(groupId)?.committed.get(tp(topic, partition));
  }

  commit(groupId: string, offsets: ReadonlyMap<string, { topic: string; partition: number; next: number }>): void {
    const group = this.groups.get(groupId);
    if (!group) return;
    const journal = group.fromLatest ? undefined : this.journal;
    for (const { topic, partition, next } of offsets.values()) {
      const key = tp(topic, partition);
      if ((group.committed.get(key) ?? -1) < next) {
        group.committed.set(key, next);
        if (journal?.journals(topic) && !this.keepsAll(topic)) journal.commit(groupId, topic, partition, next);
      }
    }
    // In the journal before the commit takes effect (below: what it lets go is dropped).
    this.flush();
    for (const { topic, partition } of offsets.values()) {
      const p = this.topic(topic).partitions[partition]!;
      this.dropRead(topic, partition, p);
      if (p.roomWaiters.size > 0) for (const w of [...p.roomWaiters]) w();
    }
  }

  /**
   * The lowest offset of a partition some group may still need after a restart: the lowest
   * commit of the groups journaled as reading the topic (0 for one that has not committed on
   * this partition), or `fallback` when no such group is known (nobody has read it yet: keep all).
   */
  private neededFrom(topic: string, partition: number, fallback: number): number {
    if (this.keepsAll(topic)) return 0;
    let low: number | undefined;
    for (const g of this.groups.values()) {
      if (g.fromLatest || !g.reads.has(topic)) continue;
      low = Math.min(low ?? Infinity, g.committed.get(tp(topic, partition)) ?? 0);
    }
    return low ?? fallback;
  }

  /** Gives the journal what a restart needs: every group's reads and commits, every partition's end and unread messages. */
  private snapshot(): void {
    const journal = this.journal!;
    for (const [id, g] of this.groups) {
      if (g.fromLatest) continue;
      for (const t of g.reads) journal.reads(id, t);
      for (const [key, next] of g.committed) {
        const at = key.lastIndexOf("/");
        const topic = key.slice(0, at);
        if (journal.journals(topic) && !this.keepsAll(topic)) journal.commit(id, topic, Number(key.slice(at + 1)), next);
      }
    }
    for (const [name, t] of this.topics) {
      if (!t.journaled) continue;
      t.partitions.forEach((p, i) => {
        const end = p.base + p.messages.length;
        journal.end(name, i, end);
        for (let k = Math.max(this.neededFrom(name, i, 0) - p.base, 0); k < p.messages.length; k++) journal.message(p.messages[k]!);
      });
    }
    // Topics the journal held that this run has not created (yet): carried over.
    for (const [name, parts] of this.recovered) {
      for (const [i, p] of parts) {
        journal.end(name, i, p.end);
        const from = this.neededFrom(name, i, 0);
        for (const m of p.messages.values()) if (m.offset >= from) journal.message(m);
      }
    }
  }

  /** Fills a topic's new partitions with what the journal held of it, within its retention. */
  private restore(spec: TopicSpec, partitions: Partition[]): void {
    const held = this.recovered.get(spec.name);
    if (!held) return;
    this.recovered.delete(spec.name);
    const oldest = spec.retentionMs >= 0 ? Date.now() - spec.retentionMs : -Infinity;
    for (const [i, r] of held) {
      const p = partitions[i];
      if (!p) {
        throw new AlphaError("CONFIG_INVALID", `topic ${spec.name} has ${spec.partitions} partitions but the log journal holds partition ${i}: the topic table changed under a data directory that holds messages`);
      }
      // The newest run of messages with no gap from the lowest a group needs (a journal never has a
      // gap, but one must not shift offsets), less what is past the topic's retention.
      const needed = this.neededFrom(spec.name, i, 0);
      let first = r.end;
      while (first > needed && r.messages.has(first - 1)) first--;
      while (first < r.end && r.messages.get(first)!.timestamp < oldest) first++;
      p.base = first;
      for (let o = first; o < r.end; o++) p.messages.push(r.messages.get(o)!);
    }
  }

  /**
   * Drops what every group has read, but the newest `retainReadMessages` younger than
   * `retainReadMs`. A busy partition drops in chunks, not on every commit; a quiet one drops what
   * is too old as soon as a commit finds it.
   */
  private dropRead(topic: string, partition: number, p: Partition): void {
    const first = p.messages[0];
    if (!first || this.keepsAll(topic)) return;
    const chunk = 1_000;
    const keep = this.retainReadMessages;
    const oldest = Date.now() - this.retainReadMs;
    const aged = first.timestamp < oldest;
    if (p.messages.length < keep + chunk && !aged) return;
    const read = Math.min(this.lowestCommitted(topic, partition, p.base + p.messages.length) - p.base, p.messages.length);
    let droppable = Math.max(0, read - keep);
    while (droppable < read && p.messages[droppable]!.timestamp < oldest) droppable++;
    if (droppable === 0 || (droppable < chunk && !aged)) return;
    p.messages.splice(0, droppable);
    p.base += droppable;
  }
}

function copyHeaders(headers: Headers | undefined): Headers {
  const out: Headers = {};
  if (headers) for (const [k, v] of Object.entries(headers)) out[k] = String(v);
  return out;
}

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

class MemoryConsumer implements Consumer {
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
    // each caller gets its own array of them (copying every entry on every batch pushed to a
    // worker was 3% of the main thread's time under load).
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
