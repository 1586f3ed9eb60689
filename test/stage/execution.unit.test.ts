/**
 * The execution stage's saved order book never runs ahead of the events it sent: a batch whose
 * events were not acknowledged leaves the saved book as it was, so after a restart the redelivered
 * signal is handled again and its events are sent. The book lives in the store (exec_books), so a
 * restart with an empty cache (a Redis flush) still fills a resting order. It decides by event
 * time: what it stamps is the time of the event that caused it, and its last prices are the ticks
 * it consumed, never another stage's cache. In-process (memory cache, embedded PGlite in memory),
 * through the stream processor, as a worker runs it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { AlphaError } from "../../src/errors.ts";
import { createEvent, decodeEnvelope, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage, OutgoingMessage, Producer } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { StreamProcessor } from "../../src/stage/processor.ts";
import { type Dedup } from "../../src/stage/dedup.ts";
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
  await store.sql`delete from stage_prices`;
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

/** An event stamped `ts` (event time), as a feed, risk or the gateway stamps it. */
const at = <E extends AnyEnvelope>(e: E, ts: string): E => ({ ...e, ts });

function signal(id: string, ts: string, order: { order_type: "MARKET" | "LIMIT"; price?: number; quantity?: number; amo?: boolean }): LogMessage {
  const data = { signal_id: id, strategy_id: "s1", instrument_token: RELIANCE, side: "BUY" as const, quantity: order.quantity ?? 1, order_type: order.order_type, ...(order.price !== undefined ? { price: order.price } : {}), ...(order.amo ? { amo: true } : {}), checks: [] };
  return message("paper.signals.validated", at(createEvent({ type: "signal.validated", source: "risk", broker: "paper", key: String(RELIANCE), data }) as AnyEnvelope, ts));
}

/** A tick traded at `exchangeTs`, published (envelope ts) at `publishedTs`. */
const tickAt = (price: number, exchangeTs: string, publishedTs: string) =>
  message("market.ticks", at(createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(RELIANCE), data: { instrument_token: RELIANCE, last_price: price, exchange_ts: exchangeTs, feed: "test" } }) as AnyEnvelope, publishedTs));

const cancelAt = (orderId: string, ts: string) =>
  message("paper.orders.commands", at(createEvent({ type: "order.cancel", source: "gateway", broker: "paper", key: String(RELIANCE), data: { order_id: orderId, instrument_token: RELIANCE, reason: "test" } }) as AnyEnvelope, ts));

/** A cache that records every key asked of it. */
function recording(cache: MemoryCache): { cache: MemoryCache; keys: string[] } {
  const keys: string[] = [];
  const proxy = new Proxy(cache, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (typeof args[0] === "string" || Array.isArray(args[0])) keys.push(...([] as string[]).concat(args[0] as string | string[]));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { cache: proxy, keys };
}

/** One start of the stage on `cache` (a worker's life); `down` makes its producer refuse. */
async function start(cache: MemoryCache, env: Record<string, string> = {}) {
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
  const ctx: StageContext = { config: loadConfig(env), logger: quiet, log, producer, db: sqlDb(store.sql), cache, instruments: NSE_MASTER, close: async () => {} };
  const s = await executionStage(ctx);
  const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async () => {} };
  const processor = new StreamProcessor({
    stage: "execution", groupId: "g", topics: s.topics, log, producer, dedup, handle: s.handle, logger: quiet,
    afterBatch: s.afterBatch, afterSend: s.afterSend, idempotentTopics: s.idempotentTopics, conflation: s.conflation, attempts: 1,
  });
  const types = () => sent.map((m) => decodeEnvelope(m.value).type);
  const events = () => sent.map((m) => decodeEnvelope(m.value));
  return { processor, types, events, sent, setDown: (d: boolean) => (down = d) };
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

describe("execution stage: the day's end cancels an instrument's open MIS orders", () => {
  const T_CUT = "2026-03-02T09:50:00.000Z";
  function product(id: string, p: "MIS" | "CNC" | undefined, price: number): LogMessage {
    const data = { signal_id: id, strategy_id: "s1", instrument_token: RELIANCE, side: "BUY" as const, quantity: 1, order_type: "LIMIT" as const, price, ...(p ? { product: p } : {}), checks: [] };
    return message("paper.signals.validated", at(createEvent({ type: "signal.validated", source: "risk", broker: "paper", key: String(RELIANCE), data }) as AnyEnvelope, "2026-03-02T05:00:00.000Z"));
  }
  const cancelOpen = (token: number) =>
    message("paper.orders.commands", at(createEvent({ type: "order.cancel_open", source: "risk", broker: "paper", key: String(token), data: { instrument_token: token, product: "MIS", reason: "MIS square-off at 15:20 IST" } }) as AnyEnvelope, T_CUT));

  test("order.cancel_open cancels the MIS (and no-product) orders resting on the instrument, with its reason and time; a CNC order rests on; again, nothing", async () => {
    const s = await start(new MemoryCache());
    await s.processor.processBatch([tick(100_500), product("m1", "MIS", 100_000), product("c1", "CNC", 99_500), product("n1", undefined, 99_000)]);
    await s.processor.processBatch([cancelOpen(RELIANCE), cancelOpen(2953217)]);
    const cancelled = s.events().filter((e) => e.type === "order.cancelled");
    expect(cancelled.map((e) => [(e.data as { order_id: string }).order_id, (e.data as { reason: string }).reason, e.ts])).toEqual([
      ["m1", "MIS square-off at 15:20 IST", T_CUT],
      ["n1", "MIS square-off at 15:20 IST", T_CUT],
    ]);
    expect((await savedBooks()).flatMap((b) => b.orders.map((o) => o.order.order_id))).toEqual(["c1"]);
    const before = s.events().length;
    await s.processor.processBatch([cancelOpen(RELIANCE)]);
    expect(s.events().length).toBe(before);
  });
});

describe("execution stage: event time, and nothing but the log", () => {
  // Event times far from the wall clock, and a tick published well after it traded.
  const T_SIGNAL = "2026-03-02T04:00:00.000Z";
  const T_TRADE = "2026-03-02T04:00:07.250Z";
  const T_PUBLISHED = "2026-03-02T04:00:09.999Z";
  const T_CANCEL = "2026-03-02T04:00:20.500Z";

  test("a fill on a tick carries the tick's exchange time; a submission and a cancel the ts of their signal or command", async () => {
    const s = await start(new MemoryCache());
    await s.processor.processBatch([tickAt(100_500, "2026-03-02T03:59:59.000Z", "2026-03-02T03:59:59.500Z"), signal("ev1", T_SIGNAL, { order_type: "LIMIT", price: 100_000 }), signal("ev2", T_SIGNAL, { order_type: "LIMIT", price: 99_000 })]);
    await s.processor.processBatch([tickAt(99_900, T_TRADE, T_PUBLISHED)]);
    await s.processor.processBatch([cancelAt("ev2", T_CANCEL)]);
    expect(s.events().map((e) => [e.type, (e.data as { order_id: string }).order_id, e.ts])).toEqual([
      ["order.submitted", "ev1", T_SIGNAL],
      ["order.submitted", "ev2", T_SIGNAL],
      ["order.filled", "ev1", T_TRADE],
      ["order.cancelled", "ev2", T_CANCEL],
    ]);
    // The saved book's times are event times too: nothing rests now, so look at one that does.
    await s.processor.processBatch([signal("ev3", T_SIGNAL, { order_type: "LIMIT", price: 98_000 })]);
    const [book] = await loadBooks<{ order: { order_id: string }; submitted_at: string; updated_at: string }, unknown>(sqlDb(store.sql), "paper");
    expect(book!.orders.map((o) => [o.order.order_id, o.submitted_at, o.updated_at])).toEqual([["ev3", T_SIGNAL, T_SIGNAL]]);
  });

  test("a tick that traded before the order arrived fills it when it arrived, not before", async () => {
    const s = await start(new MemoryCache());
    await s.processor.processBatch([tickAt(100_500, "2026-03-02T03:59:58.000Z", "2026-03-02T03:59:58.100Z"), signal("ev7", T_SIGNAL, { order_type: "LIMIT", price: 100_000 })]);
    // Handled after the order, traded (and published) a little before it.
    await s.processor.processBatch([tickAt(99_900, "2026-03-02T03:59:59.900Z", T_PUBLISHED)]);
    expect(s.events().map((e) => [e.type, e.ts])).toEqual([["order.submitted", T_SIGNAL], ["order.filled", T_SIGNAL]]);
  });

  test("a MARKET order filled at submission carries the signal's time; the same input gives the same bytes", async () => {
    const input = () => [tickAt(100_500, T_TRADE, T_PUBLISHED), signal("ev4", T_SIGNAL, { order_type: "MARKET" })];
    const a = await start(new MemoryCache());
    const batch = input();
    await a.processor.processBatch(batch);
    expect(a.events().map((e) => [e.type, e.ts])).toEqual([["order.submitted", T_SIGNAL], ["order.filled", T_SIGNAL]]);
    // Another worker's life over the same messages (a replay): byte for byte the same events.
    await store.sql`delete from exec_books`;
    const b = await start(new MemoryCache());
    await b.processor.processBatch(batch);
    expect(b.sent.map((m) => m.value.toString())).toEqual(a.sent.map((m) => m.value.toString()));
  });

  test("after a restart it takes only its own saved prices, never the cache's: with none saved, a MARKET order before the next tick is rejected NO_MARKET_PRICE, and fills after it", async () => {
    const first = await start(new MemoryCache());
    await first.processor.processBatch([tickAt(100_500, T_TRADE, T_PUBLISHED)]);
    // What an older portfolio left in the cache: a last price execution must not take.
    const { cache, keys } = recording(new MemoryCache());
    await cache.hset("market:last", { [String(RELIANCE)]: "90000" });
    keys.length = 0;
    // Its own price, saved by its first life, fills the order: not the cache's.
    const second = await start(cache);
    await second.processor.processBatch([signal("ev5", T_SIGNAL, { order_type: "MARKET" })]);
    const filled = second.events().find((e) => e.type === "order.filled");
    expect((filled?.data as { fill_price: number } | undefined)?.fill_price).toBeGreaterThanOrEqual(100_500);
    // With no saved price: missing, never zero, until its next tick.
    await store.sql`delete from stage_prices`;
    keys.length = 0;
    const third = await start(cache);
    await third.processor.processBatch([signal("ev7", T_SIGNAL, { order_type: "MARKET" })]);
    const [rejected] = third.events();
    expect(rejected!.type).toBe("order.rejected");
    expect((rejected!.data as { reason_code: string }).reason_code).toBe("NO_MARKET_PRICE");
    await third.processor.processBatch([tickAt(100_600, T_TRADE, T_PUBLISHED), signal("ev6", T_SIGNAL, { order_type: "MARKET" })]);
    expect(third.types()).toEqual(["order.rejected", "order.submitted", "order.filled"]);
    // The only key it asked the cache for is its own, from before its books moved to the store.
    expect([...new Set(keys)]).toEqual(["paper:exec:book"]);
  });

  test("no wall clock in the execution stage or the paper exchange", () => {
    const root = resolve(import.meta.dir, "../..");
    const files = ["src/stage/stages/execution.ts", "src/stage/stages/envelopes.ts", "src/market/calendar.ts", ...readdirSync(join(root, "src/execution")).map((f) => `src/execution/${f}`)];
    const clock = /\bDate\.now\s*\(|new Date\s*\(\s*\)|performance\.now|\bnowIso\s*\(|\bnewId\s*\(|\bcreateEvent\s*\(|\bchildOf\s*\(|wallClockMs/;
    const found = files.flatMap((f) =>
      readFileSync(join(root, f), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .split("\n")
        .flatMap((line, i) => (clock.test(line.replace(/\/\/.*$/, "")) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(files.length).toBeGreaterThan(5);
    expect(found).toEqual([]);
  });
});

describe("execution stage: after-market orders (MARKET_HOURS=nse)", () => {
  /** IST wall time as a UTC ISO string. */
  const ist = (text: string) => new Date(Date.parse(`${text}+05:30`)).toISOString();

  test("a validated AMO on a Saturday is submitted and saved held; after a restart the first tick at Monday 09:15 IST fills it, not the Sunday tick", async () => {
    const nse = { MARKET_HOURS: "nse" };
    const first = await start(new MemoryCache(), nse);
    await first.processor.processBatch([signal("amo1", ist("2026-12-05T21:00:00"), { order_type: "LIMIT", price: 100_000, amo: true })]);
    expect(first.events().map((e) => [e.type, (e.data as { amo?: boolean }).amo])).toEqual([["order.submitted", true]]);
    expect((await savedBooks())[0]!.orders).toMatchObject([{ order: { order_id: "amo1" }, release_at: "2026-12-07T03:45:00.000Z" }]);

    const second = await start(new MemoryCache(), nse);
    await second.processor.processBatch([tickAt(99_500, ist("2026-12-06T12:00:00"), ist("2026-12-06T12:00:00"))]);
    expect(second.types()).toEqual([]);
    await second.processor.processBatch([tickAt(99_500, ist("2026-12-07T09:15:00"), ist("2026-12-07T09:15:00"))]);
    expect(second.events().map((e) => [e.type, e.ts])).toEqual([["order.filled", "2026-12-07T03:45:00.000Z"]]);
    expect(await savedBooks()).toEqual([]);
  });

  test("with MARKET_HOURS off an AMO is an ordinary order: it fills on the Sunday tick", async () => {
    const s = await start(new MemoryCache());
    await s.processor.processBatch([signal("amo2", ist("2026-12-05T21:00:00"), { order_type: "LIMIT", price: 100_000, amo: true })]);
    await s.processor.processBatch([tickAt(99_500, ist("2026-12-06T12:00:00"), ist("2026-12-06T12:00:00"))]);
    expect(s.types()).toEqual(["order.submitted", "order.filled"]);
  });
});
