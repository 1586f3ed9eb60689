/**
 * The data of the in-process log (src/log/memory.ts): topics, partitions, consumer groups and
 * their committed offsets, bounded as that module says, journaled when given a journal.
 */
import { AlphaError } from "../errors.ts";
import { wallClockMs } from "../events/ids.ts";
import type { Journal, RecoveredPartition } from "./journal.ts";
import { laggingGroup, lowestCommitted, notify, tp, type Group, type Member, type Partition, type Topic } from "./memory-groups.ts";
import { restore, snapshot, type BrokerState } from "./memory-recovery.ts";
import { partitionFor } from "./partitioner.ts";
import type { CreateTopicsResult, Headers, LogMessage, OutgoingMessage, TopicInfo, TopicSpec } from "./port.ts";
import { utf8 } from "./port.ts";

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
  /** What the journal is made from (src/log/memory-recovery.ts). */
  private readonly state: BrokerState;
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
    this.state = { topics: this.topics, groups: this.groups, recovered: this.recovered, keepsAll: (topic) => this.keepsAll(topic) };
    for (const [id, g] of this.journal?.recovered.groups ?? []) {
      this.groups.set(id, { members: [], committed: new Map(g.committed), fromLatest: false, reads: new Set(g.reads) });
    }
    // Rewritten at start, keeping only what is still needed.
    this.journal?.compact(() => snapshot(this.journal!, this.state));
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
      restore(spec, partitions, this.state);
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
        // To the microsecond, as the stages read their clock: a hop's wait (StreamProcessor.inbound)
        // is often under a millisecond here.
        timestamp: wallClockMs(),
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
    if (this.journal?.flush()) this.journal.compact(() => snapshot(this.journal!, this.state));
  }

  /** Drops messages every group has committed; waits (bounded) while the oldest is unread. */
  private async makeRoom(topic: string, partition: number, p: Partition): Promise<void> {
    const deadline = Date.now() + this.produceTimeoutMs;
    while (p.messages.length >= this.maxMessagesPerPartition) {
      const readUpTo = this.keepsAll(topic) ? p.base : lowestCommitted(this.groups, topic, partition, p.base + p.messages.length);
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
          `${topic}/${partition} holds ${p.messages.length} unread messages (the limit) and group "${laggingGroup(this.groups, topic, partition, p.base)}" has not read them for ${this.produceTimeoutMs} ms`,
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
    const read = Math.min(lowestCommitted(this.groups, topic, partition, p.base + p.messages.length) - p.base, p.messages.length);
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
