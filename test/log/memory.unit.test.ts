import { describe, expect, test } from "bun:test";
import { AlphaError } from "../../src/errors.ts";
import { wallClockMs } from "../../src/events/ids.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { logConformance } from "./conformance.ts";

const broker = new MemoryBroker();
logConformance("in-process", async () => new MemoryLog(broker));

describe("in-process log: append time", () => {
  test("a message's timestamp is its append time to below the millisecond, read from the clock the stages read (a hop's wait is often under 1 ms)", async () => {
    const broker = new MemoryBroker();
    const log = new MemoryLog(broker);
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const producer = log.producer();
    const within: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const before = wallClockMs();
      await producer.send([{ topic: "t", key: "k", value: String(i) }]);
      const after = wallClockMs();
      const [m] = broker.read("t", 0, i, 1);
      within.push(m!.timestamp >= before && m!.timestamp <= after);
    }
    expect(within.every(Boolean)).toBe(true);
    await log.close();
  });
});

describe("in-process log: bounded memory", () => {
  test("a full partition makes the producer wait for the lagging group, then go on", async () => {
    const log = new MemoryLog(new MemoryBroker({ maxMessagesPerPartition: 10, produceTimeoutMs: 5_000 }));
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const seen: number[] = [];
    const consumer = log.consumer({ groupId: "slow", topics: ["t"], maxBatchSize: 5 });
    await consumer.run(async (batch) => {
      await Bun.sleep(20);
      for (const m of batch) seen.push(Number(new TextDecoder().decode(m.value)));
    });
    const producer = log.producer();
    for (let i = 0; i < 100; i++) await producer.send([{ topic: "t", key: "k", value: String(i) }]);
    const until = Date.now() + 10_000;
    while (seen.length < 100 && Date.now() < until) await Bun.sleep(10);
    await log.close();
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  test("one send larger than a partition holds: the waiting group is told of the first messages, reads them, and the send completes", async () => {
    const log = new MemoryLog(new MemoryBroker({ maxMessagesPerPartition: 10, produceTimeoutMs: 2_000 }));
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const seen: number[] = [];
    const consumer = log.consumer({ groupId: "g", topics: ["t"], maxBatchSize: 4 });
    await consumer.run(async (batch) => {
      for (const m of batch) seen.push(Number(new TextDecoder().decode(m.value)));
    });
    await Bun.sleep(20); // the consumer has found nothing and waits to be told
    await log.producer().send(Array.from({ length: 35 }, (_, i) => ({ topic: "t", key: "k", value: String(i) })));
    const until = Date.now() + 5_000;
    while (seen.length < 35 && Date.now() < until) await Bun.sleep(5);
    await log.close();
    expect(seen).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });

  test("a group that never reads makes the producer refuse with LOG_FULL, naming the group", async () => {
    const log = new MemoryLog(new MemoryBroker({ maxMessagesPerPartition: 3, produceTimeoutMs: 200 }));
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const stuck = log.consumer({ groupId: "stuck", topics: ["t"] });
    await stuck.run(() => new Promise(() => {}));
    const producer = log.producer();
    await producer.send([1, 2, 3].map((i) => ({ topic: "t", key: "k", value: String(i) })));
    const err = await producer.send([{ topic: "t", key: "k", value: "4" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlphaError);
    expect((err as AlphaError).code).toBe("LOG_FULL");
    expect((err as AlphaError).message).toContain('group "stuck"');
  });

  test("what every group has read is dropped as they commit, but the newest retainReadMessages", async () => {
    const broker = new MemoryBroker({ retainReadMessages: 100 });
    const log = new MemoryLog(broker);
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    let read = 0;
    const reader = log.consumer({ groupId: "reader", topics: ["t"] });
    await reader.run(async (batch) => void (read += batch.length));
    const producer = log.producer();
    for (let i = 0; i < 30; i++) await producer.send(Array.from({ length: 100 }, (_, j) => ({ topic: "t", key: "k", value: String(i * 100 + j) })));
    const until = Date.now() + 10_000;
    while (read < 3_000 && Date.now() < until) await Bun.sleep(10);
    await Bun.sleep(50);
    expect(read).toBe(3_000);
    // At most the retained read messages plus one chunk are left, and they are the newest.
    const held = broker.endOffset("t", 0) - (broker.read("t", 0, 0, 1)[0]?.offset ?? 0);
    expect(held).toBeGreaterThanOrEqual(100);
    expect(held).toBeLessThan(100 + 1_000 + 500);
    // A group that joins now reads from what is left, not from offset 0.
    const late: number[] = [];
    const other = log.consumer({ groupId: "late", topics: ["t"] });
    await other.run(async (batch) => void late.push(...batch.map((m) => m.offset)));
    while (late.length < held && Date.now() < until) await Bun.sleep(10);
    expect(late.at(-1)).toBe(2_999);
    await log.close();
  });

  test("read messages older than retainReadMs are dropped on the next commit, however few", async () => {
    const broker = new MemoryBroker({ retainReadMessages: 5_000, retainReadMs: 100 });
    const log = new MemoryLog(broker);
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const seen: number[] = [];
    const reader = log.consumer({ groupId: "reader", topics: ["t"] });
    await reader.run(async (batch) => void seen.push(...batch.map((m) => m.offset)));
    const producer = log.producer();
    const waitFor = async (n: number) => {
      const until = Date.now() + 5_000;
      while (seen.length < n && Date.now() < until) await Bun.sleep(5);
      expect(seen.length).toBe(n);
    };
    await producer.send(Array.from({ length: 20 }, (_, i) => ({ topic: "t", key: "k", value: String(i) })));
    await waitFor(20);
    // Young: kept, though far fewer than retainReadMessages.
    expect(broker.read("t", 0, 0, 1)[0]?.offset).toBe(0);
    await Bun.sleep(150);
    await producer.send([{ topic: "t", key: "k", value: "20" }]);
    await waitFor(21);
    // The reader's commit of offset 20 dropped the 20 aged ones; the new one is kept.
    const held = () => broker.read("t", 0, 0, 100).map((m) => m.offset);
    for (const until = Date.now() + 2_000; held()[0] !== 20 && Date.now() < until; ) await Bun.sleep(5);
    expect(held()).toEqual([20]);
    await log.close();
  });

  test("nothing is dropped while a group has not read it", async () => {
    const broker = new MemoryBroker({ retainReadMessages: 10 });
    const log = new MemoryLog(broker);
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const fast = log.consumer({ groupId: "fast", topics: ["t"] });
    await fast.run(async () => {});
    const slow = log.consumer({ groupId: "slow", topics: ["t"] });
    await slow.run(() => new Promise(() => {}));
    const producer = log.producer();
    for (let i = 0; i < 25; i++) await producer.send(Array.from({ length: 100 }, (_, j) => ({ topic: "t", key: "k", value: String(i * 100 + j) })));
    await Bun.sleep(100);
    expect(broker.read("t", 0, 0, 1)[0]?.offset).toBe(0);
  });

  test("a message without a key is refused", async () => {
    const log = new MemoryLog();
    await log.createTopics([{ name: "t", partitions: 1, retentionMs: -1 }]);
    const err = await log.producer().send([{ topic: "t", key: "", value: "v" }]).catch((e: unknown) => e);
    expect((err as AlphaError).code).toBe("PAYLOAD_INVALID");
  });

  test("sending to an unknown topic is refused with TOPIC_UNKNOWN", async () => {
    const err = await new MemoryLog().producer().send([{ topic: "nope", key: "k", value: "v" }]).catch((e: unknown) => e);
    expect((err as AlphaError).code).toBe("TOPIC_UNKNOWN");
  });
});
