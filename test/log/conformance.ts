/**
 * The log port's conformance suite: one set of behaviours every adapter must have. It runs
 * against the in-process log, a worker's remote view of it, and real Kafka.
 *
 * `connect` opens a new client onto the same backing log (the same Kafka cluster, the same
 * in-process broker), so "close and reopen" means what it means for a user: the data stays.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AlphaError } from "../../src/errors.ts";
import type { ConsumerOptions, Log, LogMessage, OutgoingMessage } from "../../src/log/port.ts";
import { utf8 } from "../../src/log/port.ts";

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let seq = 0;
const unique = (what: string) => `conf.${run}.${what}.${seq++}`;

/** Consumes with a fresh consumer until `n` messages arrived, waits `settleMs` for extras, closes. */
/** Every message arrived, and each key's `i`s came 0, 1, … `perKey` - 1, in order. */
function expectEachKeyInOrder(got: LogMessage[], keys: readonly string[], perKey: number): void {
  expect(got.length).toBe(keys.length * perKey);
  for (const key of keys) {
    const seen = got.filter((m) => m.key === key).map((m) => body(m).i);
    expect(seen).toEqual(Array.from({ length: perKey }, (_, i) => i));
  }
}

async function consume(
  log: Log,
  options: ConsumerOptions,
  n: number,
  { timeoutMs = 25_000, settleMs = 300 } = {},
): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const consumer = log.consumer(options);
  let reached!: () => void;
  const enough = new Promise<void>((r) => (reached = r));
  if (n === 0) reached();
  await consumer.run(async (batch) => {
    got.push(...batch);
    if (got.length >= n) reached();
  });
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs));
  const outcome = await Promise.race([enough.then(() => "ok" as const), timer]);
  if (outcome === "ok") await Bun.sleep(settleMs);
  await consumer.close();
  if (outcome === "timeout") throw new Error(`timed out with ${got.length}/${n} messages from ${options.topics.join(",")}`);
  return got;
}

function messages(topic: string, count: number, keyOf: (i: number) => string, size = 0): OutgoingMessage[] {
  const pad = size > 0 ? "x".repeat(size) : "";
  return Array.from({ length: count }, (_, i) => ({
    topic,
    key: keyOf(i),
    value: JSON.stringify({ i, key: keyOf(i), pad }),
  }));
}

const body = (m: LogMessage) => JSON.parse(utf8.decode(m.value)) as { i: number; key: string };

export function logConformance(name: string, connect: () => Promise<Log>): void {
  describe(`log conformance: ${name}`, () => {
    let log: Log;
    beforeAll(async () => {
      log = await connect();
    });
    afterAll(async () => {
      await log?.close();
    });

    async function topic(what: string, partitions = 3): Promise<string> {
      const t = unique(what);
      await log.createTopics([{ name: t, partitions, retentionMs: 3_600_000 }]);
      return t;
    }

    test("createTopics is idempotent and listTopics shows the partitions", async () => {
      const t = unique("create");
      const first = await log.createTopics([{ name: t, partitions: 4, retentionMs: 60_000 }]);
      const second = await log.createTopics([{ name: t, partitions: 4, retentionMs: 60_000 }]);
      expect(first.created).toEqual([t]);
      expect(second).toEqual({ created: [], existing: [t] });
      const listed = (await log.listTopics()).find((x) => x.name === t);
      expect(listed).toEqual({ name: t, partitions: 4 });
    });

    test("messages of one key keep their order", async () => {
      const t = await topic("order", 3);
      const producer = log.producer();
      const keys = ["RELIANCE", "TCS", "INFY", "SBIN", "ITC"];
      // 60 sends of 5 messages, awaited one by one: the order a user sees is the send order.
      for (let round = 0; round < 60; round++) {
        await producer.send(keys.map((key) => ({ topic: t, key, value: JSON.stringify({ i: round, key }) })));
      }
      await producer.close();
      expectEachKeyInOrder(await consume(log, { groupId: unique("g"), topics: [t] }, 300), keys, 60);
    });

    test("sends issued without waiting for each other still keep each key's order: the order of the calls", async () => {
      const t = await topic("order-inflight", 3);
      const producer = log.producer();
      const keys = Array.from({ length: 20 }, (_, k) => `k${k}`);
      // 100 sends of 40 messages, all issued at once: several in flight, the rest queued.
      await Promise.all(
        Array.from({ length: 100 }, (_, round) => producer.send(keys.flatMap((key) => [0, 1].map((j) => ({ topic: t, key, value: JSON.stringify({ i: round * 2 + j, key }) }))))),
      );
      await producer.close();
      expectEachKeyInOrder(await consume(log, { groupId: unique("g"), topics: [t] }, 4_000), keys, 200);
    }, 60_000);

    test("endOffsets: per partition, the offset the next message will get; a reader that reached them has every message", async () => {
      const t = await topic("ends", 3);
      expect(await log.endOffsets(t)).toEqual([0, 0, 0]);
      const producer = log.producer();
      await producer.send(messages(t, 30, (i) => `key-${i % 7}`));
      await producer.close();
      const ends = await log.endOffsets(t);
      expect(ends.length).toBe(3);
      expect(ends.reduce((a, b) => a + b, 0)).toBe(30);
      const got = await consume(log, { groupId: unique("g"), topics: [t] }, 30);
      for (let p = 0; p < 3; p++) {
        const offsets = got.filter((m) => m.partition === p).map((m) => m.offset);
        expect(offsets.length).toBe(ends[p]!);
        if (offsets.length > 0) expect(Math.max(...offsets) + 1).toBe(ends[p]!);
      }
    });

    test("endOffsets of a topic that does not exist is refused with TOPIC_UNKNOWN", async () => {
      const err = await log.endOffsets(unique("absent")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlphaError);
      expect((err as AlphaError).code).toBe("TOPIC_UNKNOWN");
    });

    test("a compacted topic keeps the latest message of each key, read from the start by a new group", async () => {
      const t = unique("compact");
      await log.createTopics([{ name: t, partitions: 1, retentionMs: -1, compact: true }]);
      const producer = log.producer();
      for (let i = 0; i < 5; i++) await producer.send([{ topic: t, key: `k${i % 2}`, value: JSON.stringify({ i, key: `k${i % 2}` }) }]);
      await producer.close();
      // Read twice by two groups: the first group's commits must not let the second miss anything.
      await consume(log, { groupId: unique("g"), topics: [t] }, 5);
      const got = await consume(log, { groupId: unique("g"), topics: [t], startFrom: "earliest" }, 5);
      const last = new Map(got.map((m) => [m.key, body(m).i]));
      expect(last).toEqual(new Map([["k0", 4], ["k1", 3]]));
      expect(await log.endOffsets(t)).toEqual([5]);
    });

    test("a key always lands on one partition, and keys spread over partitions", async () => {
      const t = await topic("partitioning", 4);
      const producer = log.producer();
      await producer.send(messages(t, 400, (i) => `key-${i % 100}`));
      await producer.close();
      const got = await consume(log, { groupId: unique("g"), topics: [t] }, 400);
      const partitionOf = new Map<string, Set<number>>();
      for (const m of got) {
        const set = partitionOf.get(m.key) ?? new Set<number>();
        set.add(m.partition);
        partitionOf.set(m.key, set);
      }
      expect(partitionOf.size).toBe(100);
      for (const set of partitionOf.values()) expect(set.size).toBe(1);
      const used = new Set(got.map((m) => m.partition));
      expect(used.size).toBe(4);
      // Offsets within a partition are consecutive and start at 0.
      for (const p of used) {
        const offsets = got.filter((m) => m.partition === p).map((m) => m.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
    });

    test("headers, keys and binary values arrive exactly as sent", async () => {
      const t = await topic("headers", 1);
      const value = new Uint8Array([0, 1, 2, 250, 255, 0, 10]);
      const producer = log.producer();
      await producer.send([
        {
          topic: t,
          key: "ключ-🐼",
          value,
          headers: { "x-correlation-id": "c-123", "x-error": 'boom: "quoted" ₹', empty: "" },
        },
      ]);
      await producer.close();
      const [m] = await consume(log, { groupId: unique("g"), topics: [t] }, 1);
      expect(m!.key).toBe("ключ-🐼");
      expect(Array.from(m!.value)).toEqual(Array.from(value));
      expect(m!.headers).toEqual({ "x-correlation-id": "c-123", "x-error": 'boom: "quoted" ₹', empty: "" });
      expect(m!.topic).toBe(t);
      expect(Math.abs(m!.timestamp - Date.now())).toBeLessThan(60_000);
    });

    test("a group's committed offsets survive a consumer restart", async () => {
      const t = await topic("restart", 2);
      const group = unique("g");
      const producer = log.producer();
      await producer.send(messages(t, 10, (i) => `k${i}`));
      const first = await consume(log, { groupId: group, topics: [t] }, 10);
      expect(first.length).toBe(10);
      await producer.send(messages(t, 10, (i) => `k${i}`).map((m, i) => ({ ...m, value: JSON.stringify({ i: 10 + i }) })));
      await producer.close();
      const second = await consume(log, { groupId: group, topics: [t] }, 10, { settleMs: 800 });
      expect(second.map((m) => body(m).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    });

    test("a handler that throws commits nothing: the next consumer gets the batch again", async () => {
      const t = await topic("failing", 1);
      const group = unique("g");
      const producer = log.producer();
      await producer.send(messages(t, 5, () => "same"));
      await producer.close();
      const failing = log.consumer({ groupId: group, topics: [t] });
      await failing.run(async () => {
        throw new Error("handler broke");
      });
      // Not `expect(done).rejects`: under Bun 1.4.5 it stops MessagePort events from being
      // delivered while it waits, so a rejection that arrives over a port never comes.
      const err = await failing.done.then(() => undefined, (e: unknown) => e);
      expect((err as Error).message).toContain("handler broke");
      await failing.close();
      const again = await consume(log, { groupId: group, topics: [t] }, 5);
      expect(again.map((m) => body(m).i)).toEqual([0, 1, 2, 3, 4]);
    });

    test("nothing is lost across close and reopen", async () => {
      const t = await topic("reopen", 3);
      const writer = await connect();
      const producer = writer.producer({ maxInFlight: 4, maxQueued: 1000 });
      // Sends not awaited one by one: close() must still wait for every one of them.
      const sends = Array.from({ length: 50 }, (_, b) =>
        producer.send(messages(t, 20, (i) => `k${(b * 20 + i) % 7}`).map((m, i) => ({ ...m, value: JSON.stringify({ i: b * 20 + i }) }))),
      );
      await producer.close();
      await Promise.all(sends);
      await writer.close();
      const reader = await connect();
      try {
        const got = await consume(reader, { groupId: unique("g"), topics: [t] }, 1000);
        expect(new Set(got.map((m) => body(m).i)).size).toBe(1000);
      } finally {
        await reader.close();
      }
    });

    test("two consumers in one group split the partitions between them", async () => {
      const t = await topic("split", 4);
      const group = unique("g");
      const a: LogMessage[] = [];
      const b: LogMessage[] = [];
      const ca = log.consumer({ groupId: group, topics: [t], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 });
      const cb = log.consumer({ groupId: group, topics: [t], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 });
      await ca.run(async (batch) => void a.push(...batch));
      await cb.run(async (batch) => void b.push(...batch));
      // Wait for the group to settle with both members before producing.
      const settled = Date.now() + 20_000;
      while (Date.now() < settled && !(ca.assignments().length === 2 && cb.assignments().length === 2)) await Bun.sleep(100);
      const owned = [...ca.assignments(), ...cb.assignments()].map((x) => x.partition).sort();
      expect(owned).toEqual([0, 1, 2, 3]);
      const producer = log.producer();
      await producer.send(messages(t, 200, (i) => `k${i}`));
      await producer.close();
      const until = Date.now() + 20_000;
      while (Date.now() < until && a.length + b.length < 200) await Bun.sleep(50);
      await Bun.sleep(300);
      await ca.close();
      await cb.close();
      expect(a.length + b.length).toBe(200);
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
      const pa = new Set(a.map((m) => m.partition));
      const pb = new Set(b.map((m) => m.partition));
      for (const p of pa) expect(pb.has(p)).toBe(false);
    });

    test("a large batch arrives whole and in order per key", async () => {
      const t = await topic("large", 3);
      const producer = log.producer();
      const total = 20_000;
      for (let start = 0; start < total; start += 1000) {
        await producer.send(
          Array.from({ length: 1000 }, (_, j) => {
            const i = start + j;
            return { topic: t, key: `k${i % 50}`, value: JSON.stringify({ i, pad: "p".repeat(200) }) };
          }),
        );
      }
      await producer.close();
      const got = await consume(log, { groupId: unique("g"), topics: [t], maxBatchSize: 2000 }, total, { timeoutMs: 60_000 });
      expect(got.length).toBe(total);
      const last = new Map<string, number>();
      for (const m of got) {
        const i = body(m).i;
        expect(i).toBeGreaterThan(last.get(m.key) ?? -1);
        last.set(m.key, i);
      }
    }, 90_000);

    test("batches never exceed maxBatchSize", async () => {
      const t = await topic("batchsize", 1);
      const producer = log.producer();
      await producer.send(messages(t, 100, (i) => `k${i}`));
      await producer.close();
      const sizes: number[] = [];
      let total = 0;
      const c = log.consumer({ groupId: unique("g"), topics: [t], maxBatchSize: 7 });
      await c.run(async (batch) => {
        sizes.push(batch.length);
        total += batch.length;
      });
      const until = Date.now() + 20_000;
      while (Date.now() < until && total < 100) await Bun.sleep(20);
      await c.close();
      expect(total).toBe(100);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    });

    test("startFrom latest skips what was there before the group existed", async () => {
      const t = await topic("latest", 1);
      const producer = log.producer();
      await producer.send(messages(t, 5, () => "old"));
      const got: LogMessage[] = [];
      const c = log.consumer({ groupId: unique("g"), topics: [t], startFrom: "latest" });
      await c.run(async (batch) => void got.push(...batch));
      const until = Date.now() + 20_000;
      while (Date.now() < until && c.assignments().length === 0) await Bun.sleep(50);
      await Bun.sleep(500);
      await producer.send([{ topic: t, key: "new", value: JSON.stringify({ i: 99 }) }]);
      await producer.close();
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && got.length < 1) await Bun.sleep(20);
      await Bun.sleep(200);
      await c.close();
      expect(got.map((m) => body(m).i)).toEqual([99]);
    });

    test("backpressure: past maxQueued a send is refused with LOG_FULL, and what was accepted arrives", async () => {
      const t = await topic("backpressure", 1);
      const producer = log.producer({ maxInFlight: 1, maxQueued: 2 });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => producer.send([{ topic: t, key: "k", value: JSON.stringify({ i }) }])),
      );
      await producer.close();
      const accepted = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(accepted).toEqual([0, 1, 2]);
      expect(refused.length).toBe(7);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(AlphaError);
        expect((r.reason as AlphaError).code).toBe("LOG_FULL");
        expect((r.reason as AlphaError).canRetry).toBe(true);
      }
      const got = await consume(log, { groupId: unique("g"), topics: [t] }, 3, { settleMs: 500 });
      expect(got.map((m) => body(m).i)).toEqual([0, 1, 2]);
    });

    test("sending to a closed producer is refused with LOG_CLOSED", async () => {
      const t = await topic("closed", 1);
      const producer = log.producer();
      await producer.close();
      const err = await producer.send([{ topic: t, key: "k", value: "v" }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlphaError);
      expect((err as AlphaError).code).toBe("LOG_CLOSED");
    });
  });
}
