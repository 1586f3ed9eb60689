/**
 * The log port's monitoring reads, on the in-process log and on Kafka: offsetRanges (what a topic
 * holds per partition) and committedOffsets (where a group will read next), which the pipeline's
 * lag and DLQ depths and the DLQ tool are made of.
 */
import { describe, expect, test } from "bun:test";
import { KafkaLog } from "../../src/log/kafka.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Log } from "../../src/log/port.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

function offsetsSuite(name: string, connect: () => Log): void {
  describe(`log offsets: ${name}`, () => {
    test("a topic's ranges, a group's commits, and an unknown topic left out", async () => {
      const log = connect();
      const topic = `offsets.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 6)}`;
      const group = `${topic}.g`;
      try {
        await log.createTopics([{ name: topic, partitions: 2, retentionMs: 3_600_000 }]);
        const producer = log.producer();
        // One key: every message on one partition.
        await producer.send(Array.from({ length: 5 }, (_, i) => ({ topic, key: "k", value: String(i) })));
        await producer.close();
        const ranges = (await log.offsetRanges!([topic, `${topic}.missing`]))!;
        expect([...ranges.keys()]).toEqual([topic]);
        const parts = ranges.get(topic)!;
        expect(parts.map((r) => r.end - r.start).sort()).toEqual([0, 5]);
        const full = parts.findIndex((r) => r.end === 5);

        expect(await log.committedOffsets!(group)).toEqual([]);
        const consumer = log.consumer({ groupId: group, topics: [topic], maxBatchSize: 5 });
        let seen = 0;
        await consumer.run(async (batch) => void (seen += batch.length));
        for (const until = Date.now() + 20_000; seen < 5 && Date.now() < until; ) await Bun.sleep(50);
        await consumer.close();
        expect(await log.committedOffsets!(group)).toContainEqual({ topic, partition: full, next: 5 });
      } finally {
        await log.close();
      }
    }, 60_000);
  });
}

offsetsSuite("in-process", () => new MemoryLog());
if (await needs("kafka")) offsetsSuite("Kafka", () => new KafkaLog({ brokers: infra.kafkaBrokers.split(",") }));
