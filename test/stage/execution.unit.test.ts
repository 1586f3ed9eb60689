/**
 * The execution stage's saved order book never runs ahead of the events it sent: a batch whose
 * events were not acknowledged leaves the saved book as it was, so after a restart the redelivered
 * signal is handled again and its events are sent. In-process (memory cache), through the stream
 * processor, as a worker runs it.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { AlphaError } from "../../src/errors.ts";
import { createEvent, decodeEnvelope, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage, OutgoingMessage, Producer } from "../../src/log/port.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { StreamProcessor, type Dedup } from "../../src/stage/processor.ts";
import { executionStage } from "../../src/stage/stages/execution.ts";

const quiet = pino({ level: "silent" });
const RELIANCE = 738561;

let offset = 0;
const message = (topic: string, e: AnyEnvelope): LogMessage => ({ topic, partition: 0, offset: offset++, key: e.key, value: Buffer.from(encodeEnvelope(e)), headers: {}, timestamp: Date.now() });

const tick = (price: number) =>
  message("market.ticks", createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(RELIANCE), data: { instrument_token: RELIANCE, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } }) as AnyEnvelope);

function limitBuy(price: number, id: string): LogMessage {
  const data = { signal_id: id, strategy_id: "s1", instrument_token: RELIANCE, side: "BUY" as const, quantity: 1, order_type: "LIMIT" as const, price, checks: [] };
  return message("paper.signals.validated", createEvent({ type: "signal.validated", source: "risk", broker: "paper", key: String(RELIANCE), data }) as AnyEnvelope);
}

/** One start of the stage on `cache` (a worker's life); `down` makes its producer refuse. */
async function start(cache: MemoryCache) {
  const sent: OutgoingMessage[] = [];
  let down = false;
  const producer = {
    send: async (m: OutgoingMessage[]) => {
      if (down) throw new AlphaError("LOG_UNAVAILABLE", "the log refused the batch");
      sent.push(...m);
    },
    close: async () => {},
  } as unknown as Producer;
  const log = new MemoryLog();
  const ctx: StageContext = { config: loadConfig({}), logger: quiet, log, producer, db: {} as StageContext["db"], cache, close: async () => {} };
  const s = await executionStage(ctx);
  const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async () => {} };
  const processor = new StreamProcessor({
    stage: "execution", groupId: "g", topics: s.topics, log, producer, dedup, handle: s.handle, logger: quiet,
    afterBatch: s.afterBatch, afterSend: s.afterSend, idempotentTopics: s.idempotentTopics, conflate: s.conflate, attempts: 1,
  });
  const types = () => sent.map((m) => decodeEnvelope(m.value).type);
  return { processor, types, setDown: (d: boolean) => (down = d) };
}

describe("execution stage: the saved book and the sent events", () => {
  test("a batch whose events were refused saves nothing: after a restart the redelivered signal sends its events", async () => {
    const cache = new MemoryCache();
    const batch = [tick(100_500), limitBuy(100_000, "o1")];

    const first = await start(cache);
    first.setDown(true);
    await expect(first.processor.processBatch(batch)).rejects.toThrow(/refused/);
    expect(await cache.hgetall("paper:exec:book")).toEqual({});

    // The worker restarts; the uncommitted batch comes again.
    const second = await start(cache);
    await second.processor.processBatch(batch);
    expect(second.types()).toEqual(["order.submitted"]);
    expect(Object.keys(await cache.hgetall("paper:exec:book"))).toEqual([String(RELIANCE)]);
  });

  test("a sent batch's book is saved, and the next start fills the resting order from it", async () => {
    const cache = new MemoryCache();
    const first = await start(cache);
    await first.processor.processBatch([tick(100_500), limitBuy(100_000, "o2")]);
    expect(first.types()).toEqual(["order.submitted"]);

    const second = await start(cache);
    await second.processor.processBatch([tick(99_900)]);
    expect(second.types()).toEqual(["order.filled"]);
    // Filled: nothing rests any more, and the saved book says so.
    const saved = JSON.parse((await cache.hgetall("paper:exec:book"))[String(RELIANCE)]!) as { book: unknown[] };
    expect(saved.book).toEqual([]);
  });
});
