import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { Tick } from "../../src/events/payloads.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { publishTicks, recordTicks } from "../../src/market/feed.ts";
import { TickRecorder } from "../../src/market/recorder.ts";
import { parseReplay } from "../../src/market/replay.ts";
import { topicSpecs } from "../../src/topics.ts";

const dir = mkdtempSync(join(tmpdir(), "alpha-record-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = pino({ level: "silent" });

// Every field a tick payload can carry (src/events/payloads.ts tickSchema), and one with none of the optional ones.
const full = (i: number): Tick => ({
  instrument_token: 738561 + (i % 3),
  last_price: 129_045 + i * 5,
  last_quantity: i % 7,
  volume: 1_000_000 + i,
  bid: 129_040 + i * 5,
  ask: 129_050 + i * 5,
  exchange_ts: new Date(Date.UTC(2026, 11, 7, 3, 45, 0, i)).toISOString(),
  feed: i % 2 ? "simulated" : "api",
});
const bare = (i: number): Tick => ({ instrument_token: 2953217, last_price: 350_000 + i, exchange_ts: new Date(Date.UTC(2026, 11, 7, 4, 0, i)).toISOString(), feed: "kite" });

test("what the recorder writes parses back with parseReplay to the same ticks, in the same order", async () => {
  const path = join(dir, "roundtrip.jsonl");
  const recorder = await TickRecorder.open(path, quiet);
  const batches = [Array.from({ length: 500 }, (_, i) => full(i)), [bare(1), full(9_999), bare(2)], Array.from({ length: 10 }, (_, i) => bare(10 + i))];
  for (const b of batches) recorder.record(b);
  await recorder.close();
  const back = [...parseReplay(readFileSync(path, "utf8"), path)];
  expect(back).toEqual(batches.flat());
  expect(recorder.stats).toEqual({ recorded: 513, failed: 0 });
});

test("appends to what the file holds, flushes on its own within ~100 ms, and ignores ticks after close", async () => {
  const path = join(dir, "append.jsonl");
  await Bun.write(path, JSON.stringify(bare(0)) + "\n");
  const recorder = await TickRecorder.open(path, quiet);
  recorder.record([full(1), full(2)]);
  expect(readFileSync(path, "utf8").split("\n").filter(Boolean).length).toBe(1); // nothing written by record itself
  await Bun.sleep(300);
  expect([...parseReplay(readFileSync(path, "utf8"), path)]).toEqual([bare(0), full(1), full(2)]);
  await recorder.close();
  recorder.record([full(3)]);
  await recorder.close();
  expect([...parseReplay(readFileSync(path, "utf8"), path)].length).toBe(3);
});

test("a write that fails (a full disk: /dev/full) is counted and logged once, and never throws", async () => {
  const logged: string[] = [];
  const log = pino({ level: "error" }, { write: (line: string) => void logged.push(line) });
  const recorder = await TickRecorder.open("/dev/full", log, 10);
  recorder.record([full(1), full(2)]);
  await Bun.sleep(50);
  recorder.record([full(3)]);
  await recorder.close();
  expect(recorder.stats).toEqual({ recorded: 0, failed: 3 });
  expect(logged.length).toBe(1);
  expect(logged[0]).toContain("cannot write to RECORD_FILE");
});

test("publishTicks records what a recorded producer publishes, after it is acknowledged, and nothing from another producer", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics(topicSpecs(["paper"]));
  const path = join(dir, "publish.jsonl");
  const recorder = await TickRecorder.open(path, quiet);
  const feed = log.producer();
  const api = log.producer();
  const other = log.producer();
  recordTicks(feed, recorder);
  recordTicks(api, recorder);
  await publishTicks(feed, [full(1), full(2)], "feed.simulated");
  await publishTicks(api, [bare(3)], "gateway.api");
  await publishTicks(other, [bare(4)], "elsewhere");
  await publishTicks(feed, [full(5)], "feed.simulated");
  await recorder.close();
  expect([...parseReplay(readFileSync(path, "utf8"), path)]).toEqual([full(1), full(2), bare(3), full(5)]);
  await log.close();
});
