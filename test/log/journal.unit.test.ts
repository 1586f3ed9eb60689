/**
 * The in-process log's journal: what the log acknowledged survives a "crash" (the broker dropped
 * without any close, as a kill -9 leaves it), at the same offsets, with the same commits; the
 * journal stays small; a line cut by a crash mid-write is ignored.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AlphaError } from "../../src/errors.ts";
import { Journal, type JournalOptions } from "../../src/log/journal.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage, TopicSpec } from "../../src/log/port.ts";
import { utf8 } from "../../src/log/port.ts";
import { journaled, topicSpecs } from "../../src/topics.ts";
import { logConformance } from "./conformance.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "alpha-journal-"));
  dirs.push(d);
  return d;
};

// The conformance suite on a journaled broker: the journal changes nothing a client sees.
logConformance("in-process, journaled", async () => new MemoryLog(conformanceBroker));
const conformanceBroker = new MemoryBroker({ journal: Journal.open({ dir: tempDir() }) });

const T: TopicSpec = { name: "t", partitions: 3, retentionMs: -1 };

/** A new broker on the journal's folder, as a restarted process makes it. */
async function reopen(dir: string, specs: TopicSpec[] = [T], options: Partial<JournalOptions> = {}) {
  const journal = Journal.open({ dir, ...options });
  const log = new MemoryLog(new MemoryBroker({ journal }));
  await log.createTopics(specs);
  return { journal, log, broker: log.broker };
}

/** Everything a partition holds, as plain data. */
const held = (broker: MemoryBroker, topic: string, partition: number) =>
  broker.read(topic, partition, 0, 1_000_000).map((m) => ({ ...m, value: utf8.decode(m.value) }));

/** Reads with `groupId` until `n` messages came, commits them, and stops. */
async function consume(log: MemoryLog, groupId: string, n: number, topics = ["t"]): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const consumer = log.consumer({ groupId, topics, maxBatchSize: 1 });
  await consumer.run(async (batch) => void got.push(...batch));
  for (const until = Date.now() + 5_000; got.length < n && Date.now() < until; ) await Bun.sleep(2);
  await consumer.close();
  expect(got.length).toBe(n);
  return got;
}

const send = (log: MemoryLog, from: number, to: number, topic = "t") =>
  log.producer().send(Array.from({ length: to - from }, (_, i) => ({ topic, key: `k${(from + i) % 7}`, value: `v${from + i}`, headers: { n: String(from + i), "x-b": "é" } })));

describe("log journal", () => {
  test("after a crash the log holds the same messages at the same offsets, and the groups resume at their commits", async () => {
    const dir = tempDir();
    const first = await reopen(dir);
    await send(first.log, 0, 40);
    const read = await consume(first.log, "g", 40);
    // A second group that read only part (and hangs, as at a crash), and one message sent since.
    const partial = first.log.consumer({ groupId: "h", topics: ["t"], maxBatchSize: 1 });
    let n = 0;
    await partial.run(async () => {
      if (++n > 5) await new Promise(() => {});
    });
    for (const until = Date.now() + 5_000; n <= 5 && Date.now() < until; ) await Bun.sleep(1);
    await send(first.log, 40, 41);
    const committed = (b: MemoryBroker) => ["g", "h"].flatMap((g) => [0, 1, 2].map((p) => b.committed(g, "t", p)));
    const commitsBefore = committed(first.broker);
    // What a restart needs: every message from the lowest commit of the groups on, at its offset.
    const needed = [0, 1, 2].map((p) => held(first.broker, "t", p).filter((m) => m.offset >= Math.min(...["g", "h"].map((g) => first.broker.committed(g, "t", p) ?? 0))));
    expect(needed.flat().length).toBe(41 - 5);
    // The crash: no close, no flush; the next process opens the folder.
    const second = await reopen(dir);
    expect([0, 1, 2].map((p) => held(second.broker, "t", p))).toEqual(needed);
    expect(committed(second.broker)).toEqual(commitsBefore);
    // Group g resumes after its commits: only the message sent after it read.
    const again = await consume(second.log, "g", 1);
    expect(utf8.decode(again[0]!.value)).toBe("v40");
    expect(read.map((m) => utf8.decode(m.value)).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`).sort());
    second.journal.close();
  });

  test("a group that joined but had not committed yet keeps what it has not read", async () => {
    const dir = tempDir();
    const first = await reopen(dir);
    await consume(first.log, "fast", 0);
    const slow = first.log.consumer({ groupId: "slow", topics: ["t"] });
    await slow.run(() => new Promise(() => {})); // joined, never commits
    await send(first.log, 0, 12);
    await consume(first.log, "fast", 12);
    const second = await reopen(dir);
    expect(await consume(second.log, "slow", 12)).toHaveLength(12);
  });

  test("a partition every group has read comes back empty at its old end, so offsets are never given twice", async () => {
    const dir = tempDir();
    const first = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }]);
    await send(first.log, 0, 10);
    await consume(first.log, "g", 10);
    const second = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }]);
    expect(held(second.broker, "t", 0)).toEqual([]);
    expect(second.broker.endOffset("t", 0)).toBe(10);
    await send(second.log, 10, 11);
    const [m] = await consume(second.log, "g", 1);
    expect([m!.offset, utf8.decode(m!.value)]).toEqual([10, "v10"]);
  });

  test("groups that start at latest are not kept: they never pin the log", async () => {
    const dir = tempDir();
    const first = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }]);
    const push = first.log.consumer({ groupId: "push-1", topics: ["t"], startFrom: "latest" });
    await push.run(() => new Promise(() => {})); // stuck on its first batch
    await send(first.log, 0, 5);
    await consume(first.log, "g", 5);
    const second = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }]);
    expect(second.broker.committed("push-1", "t", 0)).toBeUndefined();
    expect(held(second.broker, "t", 0)).toEqual([]);
  });

  test("messages older than the topic's retention are not brought back", async () => {
    const dir = tempDir();
    const first = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }]);
    await send(first.log, 0, 3);
    await Bun.sleep(60);
    await send(first.log, 3, 5);
    const second = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: 50 }]);
    expect(held(second.broker, "t", 0).map((m) => m.value)).toEqual(["v3", "v4"]);
    expect(held(second.broker, "t", 0)[0]!.offset).toBe(3);
  });

  test("only the topics the table marks are journaled: ticks are not, orders are", async () => {
    const dir = tempDir();
    const specs = topicSpecs(["paper"]);
    expect(journaled("market.ticks")).toBe(false);
    expect(journaled("paper.signals.raw")).toBe(true);
    expect(journaled("paper.orders.filled.dlq")).toBe(true);
    const first = await reopen(dir, specs, { journaled });
    await first.log.producer().send([
      { topic: "market.ticks", key: "738561", value: "tick" },
      { topic: "paper.signals.raw", key: "738561", value: "order" },
    ]);
    const text = first.journal.files().map((f) => readFileSync(f, "utf8")).join("");
    expect(text).toContain('"paper.signals.raw"');
    expect(text).not.toContain('"market.ticks"');
    const second = await reopen(dir, specs, { journaled });
    const orders = (await consume(second.log, "risk", 1, ["paper.signals.raw", "market.ticks"])).map((m) => [m.topic, utf8.decode(m.value)]);
    expect(orders).toEqual([["paper.signals.raw", "order"]]);
  });

  test("compaction: segments roll while running and are rewritten at start, keeping only what is needed", async () => {
    const dir = tempDir();
    const spec = { name: "t", partitions: 1, retentionMs: -1 };
    const first = await reopen(dir, [spec], { segmentBytes: 4_096 });
    for (let i = 0; i < 200; i += 10) {
      await send(first.log, i, i + 10);
      await consume(first.log, "g", 10);
    }
    await send(first.log, 200, 203); // unread
    // 200 messages and 200 commits went through; the journal holds a few segments' worth, not all.
    const size = () => first.journal.files().reduce((n, f) => n + statSync(f).size, 0);
    expect(first.journal.files()).toHaveLength(1);
    expect(size()).toBeLessThan(2 * 4_096);
    const second = await reopen(dir, [spec], { segmentBytes: 4_096 });
    expect(held(second.broker, "t", 0).map((m) => [m.offset, m.value])).toEqual([[200, "v200"], [201, "v201"], [202, "v202"]]);
    // At start only the snapshot is left: the three unread messages, the end and the commit.
    const [file] = second.journal.files();
    expect(readFileSync(file!, "utf8").trim().split("\n")).toHaveLength(1 + 1 + 1 + 3);
  });

  test("a compacted topic (the control topics) keeps every message through reads, commits, compactions and restarts", async () => {
    const dir = tempDir();
    const spec = { name: "t", partitions: 1, retentionMs: -1, compact: true };
    const first = await reopen(dir, [spec], { segmentBytes: 4_096 });
    for (let i = 0; i < 200; i += 10) {
      await send(first.log, i, i + 10);
      await consume(first.log, `reader-${i}`, i + 10);
    }
    const second = await reopen(dir, [spec], { segmentBytes: 4_096 });
    expect(held(second.broker, "t", 0).map((m) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // Twenty readers came and went; none is kept in the journal (each reader is a group of its own).
    const [file] = second.journal.files();
    expect(readFileSync(file!, "utf8").includes("reader-")).toBe(false);
    const third = await reopen(dir, [spec]);
    expect(await third.log.endOffsets("t")).toEqual([200]);
    expect((await consume(third.log, "new-reader", 200)).length).toBe(200);
  });

  test("a last line cut by a crash mid-write is ignored; a damaged line before it stops the start, naming the file", async () => {
    const dir = tempDir();
    const spec = { name: "t", partitions: 1, retentionMs: -1 };
    const first = await reopen(dir, [spec]);
    await send(first.log, 0, 3);
    const [file] = first.journal.files();
    appendFileSync(file!, '["m","t",0,3,1700000000000,"k","{}","dj');
    const second = await reopen(dir, [spec]);
    expect(held(second.broker, "t", 0).map((m) => m.value)).toEqual(["v0", "v1", "v2"]);
    expect(second.broker.endOffset("t", 0)).toBe(3);

    const [now] = second.journal.files();
    const lines = readFileSync(now!, "utf8").split("\n");
    lines.splice(1, 0, "{not json");
    writeFileSync(now!, lines.join("\n"));
    const err = (() => {
      try {
        Journal.open({ dir });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AlphaError);
    expect((err as AlphaError).message).toContain(`${now} is damaged at line 2`);
  });

  test("a topic the journal holds but this run has not created yet is carried over, not dropped", async () => {
    const dir = tempDir();
    const first = await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }, { name: "u", partitions: 1, retentionMs: -1 }]);
    await send(first.log, 0, 2, "u");
    await reopen(dir, [{ name: "t", partitions: 1, retentionMs: -1 }]);
    const third = await reopen(dir, [{ name: "u", partitions: 1, retentionMs: -1 }]);
    expect(held(third.broker, "u", 0).map((m) => m.value)).toEqual(["v0", "v1"]);
  });
});
