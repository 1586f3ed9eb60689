/**
 * What a Kafka consumer (src/log/kafka-consumer.ts) takes from the client's MessagesStream: the
 * stream fetches ahead, and on a rebalance rewinds to the group's commits, so its buffer can hold
 * messages of partitions this member lost and messages it will fetch again.
 */
import type { Message, MessagesStream } from "@platformatic/kafka";
import { tp } from "./kafka-commits.ts";
import type { Headers, LogMessage } from "./port.ts";

export type Raw = Message<Buffer, Buffer, Buffer, Buffer>;
export type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

const EMPTY = new Uint8Array(0);

export function toLogMessage(m: Raw): LogMessage {
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

/**
 * Up to maxBatch messages from the stream's buffer, without duplicates or partitions not `owned`
 * (`delivered`: per partition, the offset after the last one handed over; updated), and the last
 * of them per partition (what the batch's commit covers). A fetch brings each
 * partition's messages together, so a partition's key is made once per run of them.
 */
export function takeBatch(stream: Stream, maxBatch: number, owned: ReadonlySet<string>, delivered: Map<string, bigint>): { raw: Raw[]; last: Map<string, Raw> } {
  const raw: Raw[] = [];
  const last = new Map<string, Raw>();
  let topic = "";
  let partition = -1;
  let key = "";
  let isOwned = false;
  let next: bigint | undefined;
  while (raw.length < maxBatch) {
    const m = stream.read() as Raw | null;
    if (m === null) break;
    if (m.partition !== partition || m.topic !== topic) {
      if (key !== "" && next !== undefined) delivered.set(key, next);
      topic = m.topic;
      partition = m.partition;
      key = tp(topic, partition);
      isOwned = owned.has(key);
      next = delivered.get(key);
    }
    if (!isOwned) continue;
    if (next !== undefined && m.offset < next) continue;
    next = m.offset + 1n;
    raw.push(m);
    last.set(key, m);
  }
  if (key !== "" && next !== undefined) delivered.set(key, next);
  return { raw, last };
}
