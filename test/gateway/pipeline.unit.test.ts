/**
 * The pipeline's health over the in-process log: a stage's lag is what its group has committed
 * against the end offsets, a DLQ's depth the messages it holds, the rate comes from the workers'
 * counts over the last seconds, and tick → fill is the portfolio stage's numbers (as /metrics).
 */
import { afterEach, expect, test } from "bun:test";
import { pipelineService } from "../../gateway/services/pipeline.ts";
import type { WorkerStatus } from "../../gateway/supervisor.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Log } from "../../src/log/port.ts";
import type { StageStats } from "../../src/stage/protocol.ts";
import { topicSpecs } from "../../src/topics.ts";

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const stats = (handled: number, at: number, more: Partial<StageStats> = {}): StageStats => ({ handled, duplicates: 0, deadLettered: 0, produced: handled, partitions: 6, at, ...more });
const latency = { count: 42, sum_ms: 100, window_s: 10, window_count: 5, p50: 1.5, p95: 3, p99: 4.25, max: 5 };

async function memoryLog(): Promise<MemoryLog> {
  const log = new MemoryLog();
  await log.createTopics(topicSpecs(["paper"]));
  closers.push(() => log.close());
  return log;
}

/** Has `groupId` read and commit everything on `topic` now there. */
async function readAll(log: Log, groupId: string, topic: string, count: number): Promise<void> {
  const consumer = log.consumer({ groupId, topics: [topic] });
  let seen = 0;
  const all = Promise.withResolvers<void>();
  await consumer.run(async (batch) => {
    seen += batch.length;
    if (seen >= count) all.resolve();
  });
  await all.promise;
  await consumer.close();
}

test("lag: messages past the group's commits; DLQ depth: messages held", async () => {
  const log = await memoryLog();
  const producer = log.producer();
  const send = (topic: string, n: number) => producer.send(Array.from({ length: n }, (_, i) => ({ topic, key: String(738561 + i), value: "{}" })));
  await send("paper.signals.raw", 4);
  await readAll(log, "alpha-panda.risk", "paper.signals.raw", 4);
  await send("paper.signals.raw", 3);
  await send("paper.signals.raw.dlq", 2);
  await producer.close();
  const workers: WorkerStatus[] = [{ stage: "risk", state: "running", restarts: 0, stats: stats(4, 0, { deadLettered: 2 }) }];
  const pipeline = pipelineService({ log, workers: () => workers, activeBrokers: ["paper"] });
  closers.push(() => pipeline.close());
  const view = await pipeline.status();
  expect(view.stages).toEqual([{ name: "risk", state: "running", running: true, restarts: 0, partitions: 6, handled: 4, produced: 4, rate_per_s: null, lag: 3, dead_letters: 2 }]);
  const depths = Object.fromEntries(view.dlq.map((d) => [d.topic, d.depth]));
  expect(depths["paper.signals.raw.dlq"]).toBe(2);
  expect(depths["market.ticks.dlq"]).toBe(0);
  // Every DLQ of the topic table for the active brokers, and nothing else.
  expect(view.dlq.map((d) => d.topic)).toEqual(topicSpecs(["paper"]).filter((s) => s.name.endsWith(".dlq")).map((s) => s.name));
  expect(view.tick_to_fill_ms).toBeNull();
});

test("rate over the last seconds; companions listed beside their stage; tick → fill as /metrics has it", async () => {
  const log = await memoryLog();
  let now = 10_000;
  const portfolio: WorkerStatus = { stage: "portfolio", state: "running", restarts: 2, stats: stats(0, now, { tickToFill: latency, companions: { orders: stats(0, now) } }) };
  const pipeline = pipelineService({ log, workers: () => [portfolio], activeBrokers: ["paper"], clock: () => now });
  closers.push(() => pipeline.close());
  expect((await pipeline.status()).stages.map((s) => [s.name, s.rate_per_s])).toEqual([["portfolio", null], ["orders", null]]);
  for (let s = 1; s <= 8; s++) {
    now += 1_000;
    // 100 a second for the first 2 s, then 300 a second: the last 5 s see only the 300.
    const handled = s <= 2 ? 100 * s : 200 + 300 * (s - 2);
    portfolio.stats = stats(handled, now, { tickToFill: latency, companions: { orders: stats(10 * s, now) } });
    await pipeline.status();
  }
  const view = await pipeline.status();
  expect(view.stages.map((s) => [s.name, s.rate_per_s, s.restarts])).toEqual([["portfolio", 300, 2], ["orders", 10, 2]]);
  expect(view.tick_to_fill_ms).toEqual({ p50: 1.5, p99: 4.25, count: 42 });
  // A restarted worker counts from 0 again: no negative rate.
  now += 1_000;
  portfolio.stats = stats(5, now);
  expect((await pipeline.status()).stages[0]!.rate_per_s).toBeNull();
});

test("a log that cannot say where groups and DLQs are: lag and depths null, the rest shown", async () => {
  const log = { kind: "kafka", committedOffsets: () => new Promise(() => {}), offsetRanges: () => Promise.reject(new Error("down")) } as unknown as Log;
  const pipeline = pipelineService({ log, workers: () => [{ stage: "risk", state: "restarting", restarts: 3 }], activeBrokers: ["paper"] });
  closers.push(() => pipeline.close());
  const t0 = Date.now();
  const view = await pipeline.status();
  expect(Date.now() - t0).toBeLessThan(3_000);
  expect(view.stages[0]).toMatchObject({ name: "risk", running: false, state: "restarting", restarts: 3, lag: null, handled: 0 });
  expect(view.dlq.every((d) => d.depth === null)).toBe(true);
});
