import { expect, test } from "bun:test";
import pino from "pino";
import { decodeEnvelope } from "../../src/events/envelope.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { Feed } from "../../src/market/feed.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { parseInput } from "../../src/backtest/input.ts";
import { topicSpecs } from "../../src/topics.ts";
import type { LogMessage } from "../../src/log/port.ts";

const quiet = pino({ level: "silent" });

async function collect(log: MemoryLog, n: number): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const c = log.consumer({ groupId: "test", topics: ["market.ticks"] });
  await c.run(async (b) => void got.push(...b));
  const until = Date.now() + 10_000;
  while (got.length < n && Date.now() < until) await Bun.sleep(10);
  await c.close();
  return got;
}

test("the replay feed puts every tick of the file on market.ticks, keyed by instrument token", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics(topicSpecs(["paper"]));
  const lines = Array.from({ length: 1_000 }, (_, i) =>
    JSON.stringify({ instrument_token: i % 2 ? 738561 : 2953217, last_price: 100_000 + i * 5, exchange_ts: new Date(Date.UTC(2026, 10, 20, 4, 0, 0, i)).toISOString() }),
  );
  const path = `${process.env.TMPDIR ?? "/tmp"}/alpha-replay-${process.pid}.jsonl`;
  await Bun.write(path, lines.join("\n"));
  const feed = new Feed({ kind: "replay", seed: 0, intervalMs: 1, replayFile: path, replaySpeed: 0 }, log.producer(), quiet, NSE_MASTER);
  feed.start();
  const got = await collect(log, 1_000);
  await feed.stop();
  expect(feed.stats.published).toBe(1_000);
  expect(got.length).toBe(1_000);
  for (const m of got) {
    const e = decodeEnvelope(m.value);
    expect(e.type).toBe("market.tick");
    expect(m.key).toBe(String((e.data as { instrument_token: number }).instrument_token));
    expect(e.source).toBe("feed.replay");
    expect(e.broker).toBe("shared");
  }
  // Event time: each envelope's time is its tick's, and its id the one the backtest gives the
  // same line of the same file (src/market/replay.ts fileTickId), so what it causes has the
  // backtest's ids too.
  const backtest = parseInput(lines.join("\n"), path, NSE_MASTER).ticks;
  const byId = new Map(backtest.map((t) => [t.id, t.tick]));
  for (const m of got) {
    const e = decodeEnvelope(m.value) as { id: string; ts: string; correlation_id: string; data: { exchange_ts: string; last_price: number } };
    expect(e.ts).toBe(e.data.exchange_ts);
    expect(e.correlation_id).toBe(e.id);
    expect(byId.get(e.id)?.last_price).toBe(e.data.last_price);
  }
  expect(new Set(got.map((m) => decodeEnvelope(m.value).id)).size).toBe(1_000);
  // Order per instrument is the file's order.
  const reliance = got.filter((m) => m.key === "738561").map((m) => (decodeEnvelope(m.value).data as { last_price: number }).last_price);
  expect(reliance).toEqual([...reliance].sort((a, b) => a - b));
});

test("the simulated feed publishes every interval until stopped", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics(topicSpecs(["paper"]));
  const feed = new Feed({ kind: "simulated", seed: 42, intervalMs: 10, replaySpeed: 1 }, log.producer(), quiet, NSE_MASTER);
  feed.start();
  const got = await collect(log, 100);
  await feed.stop();
  const after = feed.stats.published;
  await Bun.sleep(50);
  expect(got.length).toBeGreaterThanOrEqual(100);
  expect(feed.stats.published).toBe(after);
  expect(feed.stats.running).toBe(false);
});
