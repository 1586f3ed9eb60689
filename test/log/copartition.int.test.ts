/**
 * Stages rely on co-partitioning: a group member that owns partition p of one instrument-keyed
 * topic owns partition p of the others, so an instrument's ticks, signals and fills meet in one
 * worker. Checked on the in-process log and on Kafka with the same code.
 */
import { describe, expect, test } from "bun:test";
import { KafkaLog } from "../../src/log/kafka.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Consumer, Log } from "../../src/log/port.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

function suite(name: string, open: () => Log) {
  describe(`co-partitioning: ${name}`, () => {
    test("two members of a group own the same partition numbers of every topic", async () => {
      const log = open();
      const run = `copart.${Date.now().toString(36)}`;
      const topics = [`${run}.ticks`, `${run}.signals`, `${run}.fills`];
      await log.createTopics(topics.map((name) => ({ name, partitions: 6, retentionMs: 3_600_000 })));
      const members: Consumer[] = [0, 1, 2].map(() => log.consumer({ groupId: `${run}.g`, topics, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 }));
      for (const m of members) await m.run(async () => {});
      const until = Date.now() + 20_000;
      const owned = () => members.map((m) => m.assignments());
      while (Date.now() < until && owned().reduce((n, a) => n + a.length, 0) !== 18) await Bun.sleep(100);
      await Bun.sleep(500);
      const byMember = owned().map((a) => topics.map((t) => a.filter((x) => x.topic === t).map((x) => x.partition).sort()));
      for (const m of members) await m.close();
      await log.close();
      for (const perTopic of byMember) {
        expect(perTopic[0]!.length).toBe(2);
        expect(perTopic[1]).toEqual(perTopic[0]!);
        expect(perTopic[2]).toEqual(perTopic[0]!);
      }
    }, 60_000);
  });
}

suite("in-process", () => new MemoryLog());
if (await needs("kafka")) suite("Kafka", () => new KafkaLog({ brokers: infra.kafkaBrokers.split(",") }));
