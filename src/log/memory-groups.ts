/**
 * The in-process log's state (src/log/memory.ts): topics and their partitions, consumer groups
 * and their commits, and what the groups' commits let go.
 */
import type { LogMessage, TopicPartition, TopicSpec } from "./port.ts";

export interface Partition {
  /** Offset of messages[0]. */
  base: number;
  messages: LogMessage[];
  /**
   * The consumers reading it, each told of new data by its notifier. Registered while a consumer
   * reads the partition, not per wait: a timer and a registration per wait cost too much on the
   * main thread under load.
   */
  listeners: Set<() => void>;
  /** Producers waiting for room. */
  roomWaiters: Set<() => void>;
}

export interface Topic {
  spec: TopicSpec;
  partitions: Partition[];
  /** Its messages go to the journal (decided once: ticks must not pay a lookup each). */
  journaled: boolean;
}

export interface Member {
  id: number;
  topics: readonly string[];
  assignment: TopicPartition[];
  onAssign: () => void;
}

export interface Group {
  members: Member[];
  /** "topic/partition" → next offset to read. */
  committed: Map<string, number>;
  /** Its consumers start at "latest": not journaled (see src/log/memory.ts). */
  fromLatest: boolean;
  /** With a journal: the topics it reads, so what it has not read is kept even before its first commit. */
  reads: Set<string>;
}

/** The key of a topic-partition in a group's commits. */
export const tp = (topic: string, partition: number) => `${topic}/${partition}`;

/** Tells the readers of these partitions that they have new messages, and forgets them. */
export function notify(touched: Set<Partition>): void {
  for (const p of touched) for (const listener of p.listeners) listener();
  touched.clear();
}

/** The groups that read, or have read, `topic`. */
export function groupsOn(groups: ReadonlyMap<string, Group>, topic: string): Array<[string, Group]> {
  const prefix = `${topic}/`;
  return [...groups].filter(
    ([, g]) => g.reads.has(topic) || g.members.some((m) => m.topics.includes(topic)) || [...g.committed.keys()].some((k) => k.startsWith(prefix)),
  );
}

/** The lowest commit on a partition of the groups on its topic (`end` when there are none). */
export function lowestCommitted(groups: ReadonlyMap<string, Group>, topic: string, partition: number, end: number): number {
  let low = end;
  for (const [, g] of groupsOn(groups, topic)) low = Math.min(low, g.committed.get(tp(topic, partition)) ?? 0);
  return low;
}

/** A group that has not read past `base` on the partition, for the LOG_FULL message. */
export function laggingGroup(groups: ReadonlyMap<string, Group>, topic: string, partition: number, base: number): string {
  for (const [id, g] of groupsOn(groups, topic)) if ((g.committed.get(tp(topic, partition)) ?? 0) <= base) return id;
  return "?";
}

/**
 * The lowest offset of a partition some group may still need after a restart: the lowest commit
 * of the groups journaled as reading the topic (0 for one that has not committed on this
 * partition), or `fallback` when no such group is known (nobody has read it yet: keep all). A
 * compacted topic (`keepsAll`) is needed whole.
 */
export function neededFrom(groups: ReadonlyMap<string, Group>, topic: string, partition: number, fallback: number, keepsAll: boolean): number {
  if (keepsAll) return 0;
  let low: number | undefined;
  for (const g of groups.values()) {
    if (g.fromLatest || !g.reads.has(topic)) continue;
    low = Math.min(low ?? Infinity, g.committed.get(tp(topic, partition)) ?? 0);
  }
  return low ?? fallback;
}
