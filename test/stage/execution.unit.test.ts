/**
 * The execution stage's saved order book never runs ahead of the events it sent: a batch whose
 * events were not acknowledged leaves the saved book as it was, so after a restart the redelivered
 * signal is handled again and its events are sent. The book lives in the store (exec_books), so a
 * restart with an empty cache (a Redis flush) still fills a resting order. In-process (memory
 * cache, embedded PGlite in memory), through the stream processor, as a worker runs it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
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
import { sqlDb } from "../../src/store/db.ts";
import { loadBooks, openStore, type Store } from "../../src/store/index.ts";
import { slowTests } from "../support/timeout.ts";

// A store to start: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

let store: Store;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store?.close());
beforeEach(async () => {
  await store.sql`delete from exec_books`;
});
const savedBooks = () => loadBooks<{ order: { order_id: string } }, unknown>(sqlDb(store.sql), "paper");

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
  const ctx: StageContext = { config: loadConfig({}), logger: quiet, log, producer, db: sqlDb(store.sql), cache, close: async () => {} };
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
    expect(await savedBooks()).toEqual([]);

    // The worker restarts; the uncommitted batch comes again.
    const second = await start(cache);
    await second.processor.processBatch(batch);
    expect(second.types()).toEqual(["order.submitted"]);
    expect((await savedBooks()).map((b) => b.token)).toEqual([RELIANCE]);
  });

  test("a sent batch's book is saved in the store, and the next start, with an emptied cache, fills the resting order from it", async () => {
    const first = await start(new MemoryCache());
    await first.processor.processBatch([tick(100_500), limitBuy(100_000, "o2")]);
    expect(first.types()).toEqual(["order.submitted"]);
    expect((await savedBooks()).flatMap((b) => b.orders.map((o) => o.order.order_id))).toEqual(["o2"]);

    // The cache is gone (a Redis flush or restart): the book is not.
    const second = await start(new MemoryCache());
    await second.processor.processBatch([tick(100_400)]);
    expect(second.types()).toEqual([]);
    await second.processor.processBatch([tick(99_900)]);
    expect(second.types()).toEqual(["order.filled"]);
    // Filled: nothing rests any more, and the saved book says so.
    expect(await savedBooks()).toEqual([]);
  });

  test("a book an older version left in the cache is carried over to the store", async () => {
    const first = await start(new MemoryCache());
    await first.processor.processBatch([tick(100_500), limitBuy(100_000, "o3")]);
    const [book] = await savedBooks();
    await store.sql`delete from exec_books`;
    const cache = new MemoryCache();
    await cache.hset("paper:exec:book", { [String(RELIANCE)]: JSON.stringify({ book: book!.orders, lineage: book!.lineage }) });

    const second = await start(cache);
    expect((await savedBooks()).flatMap((b) => b.orders.map((o) => o.order.order_id))).toEqual(["o3"]);
    expect(await cache.hgetall("paper:exec:book")).toEqual({});
    await second.processor.processBatch([tick(99_900)]);
    expect(second.types()).toEqual(["order.filled"]);
  });
});
