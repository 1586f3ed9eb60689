/**
 * Replays of dead letters, one batch at a time (src/stage/replay.ts): a replayed copy of an id the
 * stage dead-lettered is let through once, a copy without the replay header or of an id not dead
 * is a duplicate, and the marks are written and cleared around the dedup's.
 */
import { expect, test } from "bun:test";
import { MemoryCache } from "../../src/cache/memory.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { cacheDeadLetters, REPLAY_HEADER, ReplayBatch } from "../../src/stage/replay.ts";

const message = (headers: Record<string, string> = {}): LogMessage => ({ topic: "paper.signals.raw", partition: 0, offset: 0, key: "1", value: new Uint8Array(), headers, timestamp: 0 });
const replayed = message({ [REPLAY_HEADER]: "paper.signals.raw.dlq/0/0" });

test("a replayed copy of a dead id is let through once per batch; without the header, or not dead, it is not", async () => {
  const marks = cacheDeadLetters(new MemoryCache(), "risk", 60_000);
  await marks.mark(["dead"]);
  const batch = new ReplayBatch(marks);
  expect(await batch.admits(message(), "dead")).toBe(false);
  expect(await batch.admits(replayed, "alive")).toBe(false);
  expect(await batch.admits(replayed, "dead")).toBe(true);
  expect(await batch.admits(replayed, "dead")).toBe(false);
  expect(await new ReplayBatch(undefined).admits(replayed, "dead")).toBe(false);
});

test("settle: dead marks before the dedup's, then the handled copies' marks cleared", async () => {
  const cache = new MemoryCache();
  const marks = cacheDeadLetters(cache, "risk", 60_000);
  await marks.mark(["was-dead"]);
  const batch = new ReplayBatch(marks);
  batch.deadLettered("new-dead");
  batch.handled(replayed, "was-dead");
  batch.handled(message(), "plain");
  const order: string[] = [];
  await batch.settle(async () => {
    order.push(`seen while new-dead is ${await marks.isDead("new-dead")}`);
  });
  expect(order).toEqual(["seen while new-dead is true"]);
  expect(await marks.isDead("new-dead")).toBe(true);
  expect(await marks.isDead("was-dead")).toBe(false);
});

test("a replayed copy handled while its id was forgotten by the dedup clears its mark: a later copy is not handled again", async () => {
  const marks = cacheDeadLetters(new MemoryCache(), "risk", 60_000);
  await marks.mark(["x"]);
  const first = new ReplayBatch(marks);
  // Not seen (the dedup forgot it): handled without admits.
  first.handled(replayed, "x");
  // A second copy in the same batch is seen now (the processor adds handled ids): not let through.
  expect(await first.admits(replayed, "x")).toBe(false);
  await first.settle(async () => {});
  expect(await new ReplayBatch(marks).admits(replayed, "x")).toBe(false);
});

test("a copy that fails again stays dead", async () => {
  const marks = cacheDeadLetters(new MemoryCache(), "risk", 60_000);
  await marks.mark(["x"]);
  const batch = new ReplayBatch(marks);
  expect(await batch.admits(replayed, "x")).toBe(true);
  batch.deadLettered("x");
  await batch.settle(async () => {});
  expect(await marks.isDead("x")).toBe(true);
});
