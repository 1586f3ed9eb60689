/**
 * The portfolio stage against a real database (embedded PGlite, and PostgreSQL): a fill delivered
 * twice changes nothing, a restart rebuilds exactly the same portfolio from the ledger, and a
 * cache that lost everything (a Redis flush) is written again within a second, marker and all.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, type AnyEnvelope } from "../../src/events/envelope.ts";
import type { PayloadOf } from "../../src/events/payloads.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Consumer, LogMessage } from "../../src/log/port.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { MARKS_EVERY_MS, portfolioStage } from "../../src/stage/stages/portfolio.ts";
import { portfolioTotals, positionsBuiltKey, readPositions } from "../../src/portfolio/read-model.ts";
import { sqlDb } from "../../src/store/db.ts";
import type { Store } from "../../src/store/index.ts";
import { topicSpecs } from "../../src/topics.ts";
import { onBothStores, type OpenStore } from "../support/both-stores.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const config = loadConfig({});
const quiet = pino({ level: "silent" });
const noConsumer = { assignments: () => [] } as unknown as Consumer;

async function stageOn(store: Store, cache = new MemoryCache()) {
  const log = new MemoryLog();
  await log.createTopics(topicSpecs(["paper"]));
  const ctx: StageContext = { config, logger: quiet, log, producer: log.producer(), db: sqlDb(store.sql), cache, close: async () => {} };
  const stage = await portfolioStage(ctx);
  await stage.onBatch!(noConsumer);
  const feed = async (events: AnyEnvelope[]) => {
    for (const e of events) await stage.handle(e, { topic: e.type === "market.tick" ? "market.ticks" : "paper.orders.filled" } as LogMessage, quiet);
    await stage.afterBatch!();
  };
  /** What the stage's timer does between batches, once what waits for it is due. */
  const settle = async () => {
    await Bun.sleep(MARKS_EVERY_MS + 20);
    await stage.every!.run();
  };
  return { cache, feed, settle, stage };
}

let fillSeq = 0;
function fill(side: "BUY" | "SELL", quantity: number, price: number, fees = 0, token = 738561): AnyEnvelope {
  const id = `o${fillSeq++}`;
  const data: PayloadOf<"order.filled"> = {
    order_id: id, signal_id: id, strategy_id: "momentum_fast", instrument_token: token, side, quantity, order_type: "MARKET",
    fill_id: `${id}-1`, fill_quantity: quantity, fill_price: price, filled_quantity: quantity, fees, status: "FILLED",
  };
  return createEvent({ type: "order.filled", source: "execution", broker: "paper", key: String(token), data }) as AnyEnvelope;
}

const tick = (price: number, token = 738561) =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } }) as AnyEnvelope;

function suite(name: string, open: OpenStore) {
  describe(`portfolio stage: ${name}`, () => {
    test("a fill delivered twice is written to the ledger once and moves the position once", async () => {
      const { store, done } = await open();
      try {
        const { cache, feed } = await stageOn(store);
        const buy = fill("BUY", 10, 100_000, 62);
        await feed([buy, buy]);
        await feed([buy]);
        const [row] = await store.sql`select count(*)::int as n from ledger_fills`;
        expect(row!.n).toBe(1);
        const [p] = await readPositions(cache, "paper");
        expect(p!.quantity).toBe(10);
        expect(p!.cost_basis).toBe(1_000_000);
      } finally {
        await done();
      }
    });

    test("a batch's fills, applied after its ticks, give the positions that one event per batch gives", async () => {
      const events = [tick(100_000), fill("BUY", 10, 100_000, 62), tick(100_500), fill("SELL", 4, 101_000, 40), tick(99_000), fill("SELL", 9, 99_005, 21), tick(99_100)];
      const a = await open();
      const b = await open();
      try {
        const together = await stageOn(a.store);
        await together.feed(events);
        const apart = await stageOn(b.store);
        for (const e of events) await apart.feed([e]);
        await Promise.all([together.settle(), apart.settle()]);
        const positions = await readPositions(together.cache, "paper");
        expect(positions[0]!.quantity).toBe(-3);
        expect(positions).toEqual(await readPositions(apart.cache, "paper"));
        // Three fills in one statement or one a batch: the same ledger rows, in the same order.
        const ledger = (store: Store) =>
          store.sql`select event_id::text, broker, fill_id, order_id, strategy_id, instrument_token::text, side, quantity, price::text, fees::text, filled_at from ledger_fills order by seq`;
        const rows = await ledger(a.store);
        expect(rows.map((r) => [r.side, r.quantity, r.price, r.fees])).toEqual([["BUY", 10, "100000", "62"], ["SELL", 4, "101000", "40"], ["SELL", 9, "99005", "21"]]);
        expect(rows).toEqual(await ledger(b.store));
      } finally {
        await a.done();
        await b.done();
      }
    });

    test("a position marked by ticks alone reaches the read model within MARKS_EVERY_MS, also when the market goes quiet", async () => {
      const { store, done } = await open();
      try {
        const { cache, feed, settle } = await stageOn(store);
        await feed([tick(100_000), fill("BUY", 10, 100_000, 62)]);
        expect((await readPositions(cache, "paper"))[0]!.unrealised_pnl).toBe(0);
        // The last ticks before the market goes quiet: no batch follows them.
        await feed([tick(100_500)]);
        await feed([tick(101_000)]);
        await settle();
        const [p] = await readPositions(cache, "paper");
        expect(p!.last_price).toBe(101_000);
        expect(p!.unrealised_pnl).toBe(10 * 1_000);
        expect(await cache.hget("market:last", "738561")).toBe("101000");
      } finally {
        await done();
      }
    });

    test("a fill's position is written at once; positions its batch's ticks only marked follow within MARKS_EVERY_MS", async () => {
      const { store, done } = await open();
      const TCS = 2953217;
      try {
        const { cache, feed, settle } = await stageOn(store);
        // The first batch writes the whole book (nothing was written for MARKS_EVERY_MS).
        await feed([tick(100_000), tick(300_000, TCS), fill("BUY", 10, 100_000), fill("BUY", 5, 300_000, 0, TCS)]);
        const byToken = async () => new Map((await readPositions(cache, "paper")).map((p) => [p.instrument_token, p]));
        expect((await byToken()).get(TCS)!.last_price).toBe(300_000);
        // Within MARKS_EVERY_MS of that: TCS moves, and RELIANCE fills again in the same batch.
        await feed([tick(301_000, TCS), fill("BUY", 2, 100_000)]);
        let now = await byToken();
        expect(now.get(738561)!.quantity).toBe(12);
        // The fill's batch wrote what the fill changed, not every position the ticks marked.
        expect(now.get(TCS)!.last_price).toBe(300_000);
        await settle();
        now = await byToken();
        expect(now.get(TCS)!.last_price).toBe(301_000);
        expect(now.get(TCS)!.unrealised_pnl).toBe(5 * 1_000);
      } finally {
        await done();
      }
    });

    test("after a restart the portfolio is rebuilt from the ledger and equals what it was", async () => {
      const { store, done } = await open();
      try {
        const first = await stageOn(store);
        await first.feed([fill("BUY", 10, 100_000, 62), tick(100_500), fill("SELL", 4, 101_000, 40), fill("BUY", 3, 99_995, 21), tick(100_250)]);
        const before = await readPositions(first.cache, "paper");
        expect(before[0]!.quantity).toBe(9);
        expect(before[0]!.realised_pnl).toBe(4 * (101_000 - 100_000));
        // A new worker with an empty cache: the ledger alone, marked at the last price, gives it all back.
        const cache = new MemoryCache();
        await cache.hset("market:last", await first.cache.hgetall("market:last"));
        const second = await stageOn(store, cache);
        expect(await readPositions(second.cache, "paper")).toEqual(before);
      } finally {
        await done();
      }
    });

    test("a cache that lost the read model is written again from the ledger within a second, with the marker last", async () => {
      const { store, done } = await open();
      try {
        const { cache, feed, settle, stage } = await stageOn(store);
        await feed([tick(100_500), fill("BUY", 10, 100_000, 62), tick(300_000, 2953217), fill("BUY", 5, 300_000, 30, 2953217), tick(100_250)]);
        await settle();
        const before = await readPositions(cache, "paper");
        expect(before).toHaveLength(2);
        expect(await cache.get(positionsBuiltKey("paper"))).not.toBeNull();

        // FLUSHALL, as far as this cache goes.
        for (const key of await cache.keys("")) await cache.del(key);
        expect(await portfolioTotals(cache, "paper", config.startingCash)).toBeUndefined();

        await Bun.sleep(1_000);
        await stage.every!.run();
        expect(await cache.get(positionsBuiltKey("paper"))).not.toBeNull();
        const sort = (ps: typeof before) => [...ps].sort((a, b) => a.instrument_token - b.instrument_token);
        expect(sort(await readPositions(cache, "paper"))).toEqual(sort(before));
        expect(await cache.hget("market:last", "738561")).toBe("100250");
        expect((await portfolioTotals(cache, "paper", config.startingCash))!.open_positions).toBe(2);
      } finally {
        await done();
      }
    });
  });
}

await onBothStores(suite);
