/**
 * Dead letters on Kafka, for `bun run dlq` (scripts/dlq.ts): what a DLQ holds, read whole without
 * leaving a consumer group behind, and each message's reason and origin from the x-dlq-* headers
 * src/stage/dead-letter.ts writes.
 */
import { Admin } from "@platformatic/kafka";
import type { KafkaLog } from "../../src/log/kafka.ts";
import type { Headers, LogMessage } from "../../src/log/port.ts";

export interface DeadLetter {
  /** Where it is in the DLQ: `<partition>/<offset>`. */
  at: string;
  message: LogMessage;
  /** The envelope's id and type, when the bytes are an envelope. */
  id?: string;
  type?: string;
  reason: string;
  code: string;
  stage: string;
  attempts: string;
  deadAt: string;
  source?: { topic: string; partition: string; offset: string };
}

const decoder = new TextDecoder();

export function deadLetterOf(m: LogMessage): DeadLetter {
  const h = m.headers;
  let id: string | undefined;
  let type: string | undefined;
  try {
    const e = JSON.parse(decoder.decode(m.value)) as { id?: unknown; type?: unknown };
    if (typeof e.id === "string") id = e.id;
    if (typeof e.type === "string") type = e.type;
  } catch {
    // Not JSON: the bytes are shown as they are.
  }
  const topic = h["x-dlq-source-topic"];
  return {
    at: `${m.partition}/${m.offset}`,
    message: m,
    id,
    type,
    reason: h["x-dlq-error"] ?? "(no reason recorded)",
    code: h["x-dlq-error-code"] ?? "?",
    stage: h["x-dlq-stage"] ?? "?",
    attempts: h["x-dlq-attempts"] ?? "?",
    deadAt: h["x-dlq-ts"] ?? new Date(m.timestamp).toISOString(),
    source: topic ? { topic, partition: h["x-dlq-source-partition"] ?? "?", offset: h["x-dlq-source-offset"] ?? "?" } : undefined,
  };
}

/** The message's own headers, as it had them before it was dead-lettered. */
export const originalHeaders = (h: Headers): Headers => Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith("x-dlq-")));

/**
 * Every message `topic` holds now, oldest first per partition, read by a consumer group made for
 * this read and deleted after it.
 *
 * @example
 * const letters = await readDeadLetters(log, ["127.0.0.1:19092"], "paper.signals.raw.dlq");
 */
export async function readDeadLetters(log: KafkaLog, brokers: string[], topic: string, timeoutMs = 30_000): Promise<DeadLetter[]> {
  const ranges = (await log.offsetRanges([topic])).get(topic);
  if (!ranges) throw new Error(`no topic ${topic} on Kafka ${brokers.join(",")}`);
  if (ranges.every((r) => r.end <= r.start)) return [];
  const groupId = `alpha-panda.dlq-tool.${Bun.randomUUIDv7()}`;
  const consumer = log.consumer({ groupId, topics: [topic], startFrom: "earliest", maxWaitMs: 100 });
  const got: LogMessage[] = [];
  const last = new Map<number, number>();
  const whole = Promise.withResolvers<void>();
  const complete = () => ranges.every((r, p) => r.end <= r.start || (last.get(p) ?? -1) >= r.end - 1);
  try {
    await consumer.run(async (batch) => {
      for (const m of batch) {
        // Only what was there when we looked: a dead letter arriving meanwhile is for the next run.
        if (m.offset >= ranges[m.partition]!.end) continue;
        got.push(m);
        last.set(m.partition, Math.max(last.get(m.partition) ?? -1, m.offset));
      }
      if (complete()) whole.resolve();
    });
    let timer: Timer | undefined;
    await Promise.race([whole.promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`could not read ${topic} whole within ${timeoutMs} ms`)), timeoutMs)))]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.close().catch(() => {});
    const admin = new Admin({ clientId: "alpha-panda-dlq-tool", bootstrapBrokers: brokers });
    await admin.deleteGroups({ groups: [groupId] }).catch(() => {});
    await admin.close().catch(() => {});
  }
  return got.sort((a, b) => a.partition - b.partition || a.offset - b.offset).map(deadLetterOf);
}
