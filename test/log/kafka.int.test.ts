/**
 * The log conformance suite against a real Kafka (KAFKA_BROKERS, default `bun run infra:up`'s),
 * plus what only Kafka has: its partitioner, its errors, its consumer group protocol.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { Admin } from "@platformatic/kafka";
import { AlphaError } from "../../src/errors.ts";
import { COMMIT_EVERY_MS } from "../../src/log/kafka-commits.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { partitionFor } from "../../src/log/partitioner.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { utf8 } from "../../src/log/port.ts";
import { infra, needs } from "../support/infra.ts";
import { logConformance } from "./conformance.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

// Joining groups and waiting for rebalances takes seconds, past bun's 5 s default (bunfig.toml's
// [test] timeout is not read by bun 1.4).
setDefaultTimeout(30_000);

const brokers = infra.kafkaBrokers.split(",").map((b) => b.trim());
const kafkaUp = await needs("kafka");
const connect = async () => new KafkaLog({ brokers, clientId: "conformance" });

if (kafkaUp) logConformance("kafka", connect);

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let seq = 0;
const unique = (what: string) => `kafka.${run}.${what}.${seq++}`;

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(20);
  }
}

// Skipped only when the service does not answer and REQUIRE_INFRA is unset; with REQUIRE_INFRA=1
// (as in CI) needs() has already registered a failing test for it (test/support/infra.ts).
describe.skipIf(!kafkaUp)("kafka log: what only Kafka has", () => {
  test("a key lands on the partition Kafka's Java client (and the in-process log) would pick", async () => {
    const log = await connect();
    try {
      const t = unique("murmur");
      await log.createTopics([{ name: t, partitions: 6, retentionMs: 3_600_000 }]);
      const keys = Array.from({ length: 60 }, (_, i) => `${738561 + i * 97}`);
      await log.producer().send(keys.map((key) => ({ topic: t, key, value: key })));
      const got: LogMessage[] = [];
      const c = log.consumer({ groupId: unique("g"), topics: [t] });
      await c.run(async (batch) => void got.push(...batch));
      await until(() => got.length >= keys.length);
      await c.close();
      for (const m of got) expect(m.partition).toBe(partitionFor(m.key, 6));
    } finally {
      await log.close();
    }
  });

  test("100 sends issued at once into a fresh topic write every record once, five times over", async () => {
    // @platformatic/kafka wrote a batch twice in about one run of four when requests were
    // concurrent (src/log/kafka-producer.ts): the producer now keeps one request in flight.
    const log = await connect();
    try {
      for (let round = 0; round < 5; round++) {
        const t = unique("once");
        await log.createTopics([{ name: t, partitions: 3, retentionMs: 3_600_000 }]);
        const producer = log.producer();
        await Promise.all(
          Array.from({ length: 100 }, (_, s) => producer.send(Array.from({ length: 40 }, (_, j) => ({ topic: t, key: `k${j % 20}`, value: `${s}/${j}` })))),
        );
        await producer.close();
        const got: LogMessage[] = [];
        const c = log.consumer({ groupId: unique("g"), topics: [t] });
        await c.run(async (batch) => void got.push(...batch));
        await until(() => got.length >= 4_000);
        await Bun.sleep(300);
        await c.close();
        const values = got.map((m) => utf8.decode(m.value));
        expect(new Set(values).size).toBe(4_000);
        expect(values.length).toBe(4_000);
      }
    } finally {
      await log.close();
    }
  }, 120_000);

  test("createTopics sets retention.ms and reports existing topics as existing", async () => {
    const log = await connect();
    try {
      const a = unique("ret");
      const b = unique("ret");
      expect(await log.createTopics([{ name: a, partitions: 2, retentionMs: 123_000 }])).toEqual({ created: [a], existing: [] });
      expect(await log.createTopics([
        { name: a, partitions: 2, retentionMs: 123_000 },
        { name: b, partitions: 1, retentionMs: -1 },
      ])).toEqual({ created: [b], existing: [a] });
      const { Admin } = await import("@platformatic/kafka");
      const admin = new Admin({ clientId: "test", bootstrapBrokers: brokers });
      try {
        const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: a, configurationKeys: ["retention.ms"] }, { resourceType: 2, resourceName: b, configurationKeys: ["retention.ms"] }] });
        const value = (name: string) => configs.find((c) => c.resourceName === name)?.configs.find((c) => c.name === "retention.ms")?.value;
        expect(value(a)).toBe("123000");
        expect(value(b)).toBe("-1");
      } finally {
        await admin.close();
      }
      const listed = await log.listTopics();
      expect(listed.find((t) => t.name === a)).toEqual({ name: a, partitions: 2 });
      expect(listed.some((t) => t.name.startsWith("__"))).toBe(false);
    } finally {
      await log.close();
    }
  });

  test("a bad topic spec is refused before anything reaches the broker", async () => {
    const log = await connect();
    try {
      const err = await log.createTopics([{ name: unique("bad"), partitions: 0, retentionMs: 1 }]).catch((e: unknown) => e);
      expect((err as AlphaError).code).toBe("CONFIG_INVALID");
    } finally {
      await log.close();
    }
  });

  test("a message without a key is refused with PAYLOAD_INVALID", async () => {
    const log = await connect();
    try {
      const err = await log.producer().send([{ topic: unique("nokey"), key: "", value: "v" }]).catch((e: unknown) => e);
      expect((err as AlphaError).code).toBe("PAYLOAD_INVALID");
    } finally {
      await log.close();
    }
  });

  test("sending to a topic that does not exist fails with TOPIC_UNKNOWN", async () => {
    const log = new KafkaLog({ brokers, retries: 2, retryDelayMs: 100 });
    try {
      const err = await log.producer().send([{ topic: unique("missing"), key: "k", value: "v" }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlphaError);
      expect((err as AlphaError).code).toBe("TOPIC_UNKNOWN");
    } finally {
      await log.close();
    }
  });

  test("consuming a topic that does not exist fails run() with TOPIC_UNKNOWN and rejects done", async () => {
    const log = new KafkaLog({ brokers, retries: 2, retryDelayMs: 100 });
    try {
      const c = log.consumer({ groupId: unique("g"), topics: [unique("missing")] });
      const err = await c.run(async () => {}).catch((e: unknown) => e);
      expect((err as AlphaError).code).toBe("TOPIC_UNKNOWN");
      expect(c.done).rejects.toBeInstanceOf(AlphaError);
      await c.close();
    } finally {
      await log.close();
    }
  });

  test("a broker nobody answers at fails with LOG_UNAVAILABLE, retryable", async () => {
    const log = new KafkaLog({ brokers: ["127.0.0.1:1"], retries: 1, retryDelayMs: 50, connectTimeoutMs: 500 });
    try {
      const err = await log.listTopics().catch((e: unknown) => e);
      expect((err as AlphaError).code).toBe("LOG_UNAVAILABLE");
      expect((err as AlphaError).canRetry).toBe(true);
      const sent = await log.producer().send([{ topic: "t", key: "k", value: "v" }]).catch((e: unknown) => e);
      expect((sent as AlphaError).code).toBe("LOG_UNAVAILABLE");
    } finally {
      await log.close();
    }
  });

  test("a 'latest' group that saw nothing resumes where it started, not at the new end", async () => {
    const log = await connect();
    try {
      const t = unique("latest-anchor");
      const group = unique("g");
      await log.createTopics([{ name: t, partitions: 2, retentionMs: 3_600_000 }]);
      const producer = log.producer();
      await producer.send([{ topic: t, key: "a", value: "before" }]);
      const first = log.consumer({ groupId: group, topics: [t], startFrom: "latest" });
      await first.run(async () => {});
      await first.close();
      await producer.send([{ topic: t, key: "a", value: "while-down" }]);
      const got: string[] = [];
      const second = log.consumer({ groupId: group, topics: [t], startFrom: "latest" });
      await second.run(async (batch) => void got.push(...batch.map((m) => utf8.decode(m.value))));
      await until(() => got.length >= 1);
      await Bun.sleep(300);
      await second.close();
      expect(got).toEqual(["while-down"]);
    } finally {
      await log.close();
    }
  });

  test("a consumer joining a busy group takes partitions over without losing a message", async () => {
    const log = await connect();
    try {
      const t = unique("handover");
      const group = unique("g");
      await log.createTopics([{ name: t, partitions: 4, retentionMs: 3_600_000 }]);
      const producer = log.producer();
      const seen = new Map<number, number>();
      const record = async (batch: readonly LogMessage[]) => {
        for (const m of batch) {
          const i = Number(utf8.decode(m.value));
          seen.set(i, (seen.get(i) ?? 0) + 1);
        }
        await Bun.sleep(5);
      };
      const opts = { groupId: group, topics: [t], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300, maxBatchSize: 50 };
      const a = log.consumer(opts);
      await a.run(record);
      let i = 0;
      const total = 3000;
      const writing = (async () => {
        while (i < total) {
          await producer.send(Array.from({ length: 100 }, () => ({ topic: t, key: `k${i % 37}`, value: String(i++) })));
          await Bun.sleep(20);
        }
      })();
      await Bun.sleep(200);
      const b = log.consumer(opts);
      await b.run(record);
      await writing;
      await until(() => seen.size >= total, 30_000);
      await Promise.all([a.close(), b.close()]);
      expect(seen.size).toBe(total);
      const dupes = [...seen.values()].filter((n) => n > 1).length;
      // At least once: a rebalance may hand over an uncommitted batch, never lose one.
      expect(dupes).toBeLessThan(total / 10);
    } finally {
      await log.close();
    }
  });

  test("a running consumer commits at most once per interval, and what it handled last within one", async () => {
    const log = await connect();
    const admin = new Admin({ clientId: "conformance-admin", bootstrapBrokers: brokers });
    try {
      const t = unique("commit-pace");
      const group = unique("g");
      const total = 300;
      await log.createTopics([{ name: t, partitions: 1, retentionMs: 3_600_000 }]);
      await log.producer().send(Array.from({ length: total }, (_, i) => ({ topic: t, key: "k", value: String(i) })));
      const committed = async () => {
        const [g] = await admin.listConsumerGroupOffsets({ groups: [group] });
        return Number(g?.topics.find((x) => x.name === t)?.partitions[0]?.committedOffset ?? -1n);
      };
      let handled = 0;
      let lastBatchAt = 0;
      // One message a batch, a few ms each: a commit per batch would be a commit every few ms.
      const c = log.consumer({ groupId: group, topics: [t], maxBatchSize: 1 });
      const started = Date.now();
      await c.run(async (batch) => {
        await Bun.sleep(3);
        handled += batch.length;
        lastBatchAt = Date.now();
      });
      const seen = new Set<number>();
      let all = 0;
      while (Date.now() - started < 20_000) {
        const o = await committed();
        seen.add(o);
        if (o === total) {
          all = Date.now();
          break;
        }
        await Bun.sleep(5);
      }
      const ran = lastBatchAt - started;
      await c.close();
      expect(handled).toBe(total);
      // Committed without a close and without another batch: within an interval (and a round trip).
      expect(all).toBeGreaterThan(0);
      expect(all - lastBatchAt).toBeLessThan(COMMIT_EVERY_MS + 1_000);
      // Polling sees at most the commits made: one per interval over the run, plus the first and last.
      expect(seen.size).toBeLessThanOrEqual(Math.ceil(ran / COMMIT_EVERY_MS) + 3);
    } finally {
      await admin.close();
      await log.close();
    }
  });

  test("close() lets the batch in hand finish and commits it", async () => {
    const log = await connect();
    try {
      const t = unique("graceful");
      const group = unique("g");
      await log.createTopics([{ name: t, partitions: 1, retentionMs: 3_600_000 }]);
      await log.producer().send(Array.from({ length: 10 }, (_, i) => ({ topic: t, key: "k", value: String(i) })));
      let started!: () => void;
      const inHand = new Promise<void>((r) => (started = r));
      let finished = 0;
      const c = log.consumer({ groupId: group, topics: [t], maxBatchSize: 4 });
      await c.run(async (batch) => {
        started();
        await Bun.sleep(500);
        finished += batch.length;
      });
      await inHand;
      await c.close();
      await c.done;
      expect(finished).toBe(4);
      const rest: string[] = [];
      const again = log.consumer({ groupId: group, topics: [t] });
      await again.run(async (batch) => void rest.push(...batch.map((m) => utf8.decode(m.value))));
      await until(() => rest.length >= 6);
      await Bun.sleep(200);
      await again.close();
      expect(rest).toEqual(["4", "5", "6", "7", "8", "9"]);
    } finally {
      await log.close();
    }
  });
});
