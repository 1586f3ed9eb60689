/**
 * The consumer-group assignor our stages need: partition i of every topic goes to the same member
 * (members sorted by id, i mod n, per topic), as in the in-process log. Topics keyed by instrument
 * token with equal partition counts are then co-partitioned: one worker sees an instrument's
 * ticks, signals, fills and cancels, so per-instrument state (resting orders, positions) lives in
 * one place. The client's own round-robin assignor carries its position from one topic to the
 * next and does not guarantee this.
 */
import type { GroupPartitionsAssigner, GroupPartitionsAssignments } from "@platformatic/kafka";

export const coPartitionAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const ids = [...members.keys()].sort();
  const out = new Map<string, GroupPartitionsAssignments>(ids.map((memberId) => [memberId, { memberId, assignments: new Map() }]));
  for (const topic of topics) {
    const subscribers = ids.filter((id) => {
      const subscribed = members.get(id)?.topics;
      return !subscribed || subscribed.includes(topic);
    });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    for (let p = 0; p < count && subscribers.length > 0; p++) {
      const member = out.get(subscribers[p % subscribers.length]!)!;
      const entry = member.assignments.get(topic) ?? { topic, partitions: [] };
      entry.partitions.push(p);
      member.assignments.set(topic, entry);
    }
  }
  return [...out.values()];
};
