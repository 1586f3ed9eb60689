/**
 * The in-process log across a kill -9 (src/log/memory.ts with a journal): what the journal is
 * given when it is compacted, and how a new broker's topics are filled from what it held.
 */
import { AlphaError } from "../errors.ts";
import type { Journal, RecoveredPartition } from "./journal.ts";
import { neededFrom, type Group, type Partition, type Topic } from "./memory-groups.ts";
import type { TopicSpec } from "./port.ts";

/** The broker's state the journal is made from. */
export interface BrokerState {
  topics: ReadonlyMap<string, Topic>;
  groups: ReadonlyMap<string, Group>;
  /** Partitions the journal held whose topic is not created yet. */
  recovered: Map<string, Map<number, RecoveredPartition>>;
  /** Whether a topic is compacted (kept whole, its readers need no journal entry). */
  keepsAll(topic: string): boolean;
}

/** Gives the journal what a restart needs: every group's reads and commits, every partition's end and unread messages. */
export function snapshot(journal: Journal, state: BrokerState): void {
  for (const [id, g] of state.groups) {
    if (g.fromLatest) continue;
    for (const t of g.reads) journal.reads(id, t);
    for (const [key, next] of g.committed) {
      const at = key.lastIndexOf("/");
      const topic = key.slice(0, at);
      if (journal.journals(topic) && !state.keepsAll(topic)) journal.commit(id, topic, Number(key.slice(at + 1)), next);
    }
  }
  for (const [name, t] of state.topics) {
    if (!t.journaled) continue;
    const keepsAll = state.keepsAll(name);
    t.partitions.forEach((p, i) => {
      const end = p.base + p.messages.length;
      journal.end(name, i, end);
      for (let k = Math.max(neededFrom(state.groups, name, i, 0, keepsAll) - p.base, 0); k < p.messages.length; k++) journal.message(p.messages[k]!);
    });
  }
  // Topics the journal held that this run has not created (yet): carried over.
  for (const [name, parts] of state.recovered) {
    for (const [i, p] of parts) {
      journal.end(name, i, p.end);
      const from = neededFrom(state.groups, name, i, 0, state.keepsAll(name));
      for (const m of p.messages.values()) if (m.offset >= from) journal.message(m);
    }
  }
}

/** Fills a topic's new partitions with what the journal held of it, within its retention. */
export function restore(spec: TopicSpec, partitions: Partition[], state: BrokerState): void {
  const held = state.recovered.get(spec.name);
  if (!held) return;
  state.recovered.delete(spec.name);
  const oldest = spec.retentionMs >= 0 ? Date.now() - spec.retentionMs : -Infinity;
  for (const [i, r] of held) {
    const p = partitions[i];
    if (!p) {
      throw new AlphaError("CONFIG_INVALID", `topic ${spec.name} has ${spec.partitions} partitions but the log journal holds partition ${i}: the topic table changed under a data directory that holds messages`);
    }
    // The newest run of messages with no gap from the lowest a group needs (a journal never has a
    // gap, but one must not shift offsets), less what is past the topic's retention.
    const needed = neededFrom(state.groups, spec.name, i, 0, state.keepsAll(spec.name));
    let first = r.end;
    while (first > needed && r.messages.has(first - 1)) first--;
    while (first < r.end && r.messages.get(first)!.timestamp < oldest) first++;
    p.base = first;
    for (let o = first; o < r.end; o++) p.messages.push(r.messages.get(o)!);
  }
}
