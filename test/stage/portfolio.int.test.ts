/**
 * The portfolio stage against a real database (embedded PGlite, and PostgreSQL): a fill delivered
 * twice changes nothing, a restart rebuilds exactly the same portfolio from the ledger, and a
 * cache that lost everything (a Redis flush) is written again within a second, marker and all.
 * P&L snapshots are made by event time: at each 5 s boundary the ticks' exchange time crosses,
 * stamped with it, their ids derived from it.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import type { PayloadOf } from "../../src/events/payloads.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Consumer, LogMessage } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import type { Outgoing } from "../../src/stage/processor.ts";
import { MARKS_EVERY_MS, portfolioStage, SNAPSHOT_EVERY_MS, snapshotId } from "../../src/stage/stages/portfolio.ts";
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
/** A worker that owns partition 0 of paper.orders.filled: the one that publishes paper's snapshots. */
const snapshotOwner = { assignments: () => [{ topic: "paper.orders.filled", partition: 0 }] } as unknown as Consumer;

async function stageOn(store: Store, cache = new MemoryCache(), consumer = noConsumer) {
  const log = new MemoryLog();
  await log.createTopics(topicSpecs(["paper"]));
  const ctx: StageContext = { config, logger: quiet, log, producer: log.producer(), db: sqlDb(store.sql), cache, instruments: NSE_MASTER, close: async () => {} };
  const stage = await portfolioStage(ctx);
  await stage.onBatch!(consumer);
  /** Handles a batch; what the stage sent out (its snapshots). */
  const feed = async (events: AnyEnvelope[]): Promise<Outgoing[]> => {
    const out: Outgoing[] = [];
    for (const e of events) out.push(...(await stage.handle(e, { topic: e.type === "market.tick" ? "market.ticks" : "paper.orders.filled" } as LogMessage, quiet)));
    await stage.afterBatch!();
    return out;
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

const tick = (price: number, token = 738561, exchangeTs = new Date().toISOString()) =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: price, exchange_ts: exchangeTs, feed: "test" } }) as AnyEnvelope;

/** Event time: seconds after 09:15 IST on a day far from the wall clock. */
const OPEN = Date.parse("2026-03-02T03:45:00.000Z");
const t = (seconds: number) => new Date(OPEN + seconds * 1_000).toISOString();

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
        // Last prices are no stage's business but the stage that consumed the ticks.
        expect(await cache.hgetall("market:last")).toEqual({});
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
        // A new worker with an empty cache: the ledger alone gives it all back, marked at the last
        // fill until the next tick marks it at the market.
        const second = await stageOn(store);
        const rebuilt = await readPositions(second.cache, "paper");
        expect(rebuilt.map((p) => p.last_price)).toEqual([99_995]);
        const unmarked = ({ last_price: _l, unrealised_pnl: _u, ...rest }: (typeof before)[number]) => rest;
        expect(rebuilt.map(unmarked)).toEqual(before.map(unmarked));
        await second.feed([tick(100_250)]);
        await second.settle();
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
        expect(sort(await readPositions(cache, "paper")).map((p) => p.last_price)).toEqual([100_250, 300_000]);
        expect((await portfolioTotals(cache, "paper", config.startingCash))!.open_positions).toBe(2);
      } finally {
        await done();
      }
    });

    test("the ledger's filled_at is the fill's event time", async () => {
      const { store, done } = await open();
      try {
        const { feed } = await stageOn(store);
        const buy = { ...fill("BUY", 1, 100_000), ts: t(3.5) } as AnyEnvelope;
        await feed([buy]);
        const [row] = await store.sql`select filled_at from ledger_fills`;
        expect(new Date(row!.filled_at as string | Date).toISOString()).toBe(t(3.5));
      } finally {
        await done();
      }
    });

    test("snapshots are made when the ticks' exchange time crosses a 5 s boundary, stamped with it, of the portfolio before that tick", async () => {
      const { store, done } = await open();
      try {
        const { feed } = await stageOn(store, new MemoryCache(), snapshotOwner);
        // The first tick after a start only sets the window: nothing to compare with yet.
        expect(await feed([tick(100_000, 738561, t(1))])).toEqual([]);
        expect(await feed([fill("BUY", 10, 100_000, 62), tick(100_500, 738561, t(4.999))])).toEqual([]);
        // 09:15:05 is crossed by the first tick at or after it, in the middle of a batch; the
        // snapshot holds the fill before it and the mark at 100_500, not the crossing tick's.
        const out = await feed([fill("BUY", 2, 100_500, 10), tick(101_000, 738561, t(5.2)), tick(101_100, 738561, t(6))]);
        expect(out).toHaveLength(1);
        const [s] = out;
        const boundary = OPEN + SNAPSHOT_EVERY_MS;
        expect(s!.topic).toBe("paper.pnl.snapshots");
        expect(s!.event.ts).toBe(t(5));
        expect(s!.event.id).toBe(snapshotId("paper", boundary));
        // A UUIDv7 of the boundary's millisecond.
        expect(parseInt(s!.event.id.replace(/-/g, "").slice(0, 12), 16)).toBe(boundary);
        expect(s!.event.data).toEqual({ broker: "paper", cash: config.startingCash - 10 * 100_000 - 62 - 2 * 100_500 - 10, realised_pnl: 0, unrealised_pnl: 12 * 100_500 - (10 * 100_000 + 2 * 100_500), fees: 72, positions: 1 });
        // An older tick (another partition's) does not move time back; a quiet gap of 20 s gives one
        // snapshot, at the latest boundary crossed.
        expect(await feed([tick(100_900, 738561, t(4))])).toEqual([]);
        const later = await feed([tick(101_200, 738561, t(27.5))]);
        expect(later.map((o) => o.event.ts)).toEqual([t(25)]);
        expect((later[0]!.event.data as { unrealised_pnl: number }).unrealised_pnl).toBe(12 * 100_900 - (10 * 100_000 + 2 * 100_500));
      } finally {
        await done();
      }
    });

    test("the same input gives the same snapshots, byte for byte; a worker that does not own partition 0 of the fills publishes none", async () => {
      const events = [tick(100_000, 738561, t(0.5)), fill("BUY", 10, 100_000, 62), tick(99_500, 738561, t(5.5)), fill("SELL", 4, 99_600, 30), tick(100_200, 738561, t(11)), tick(100_300, 738561, t(16))];
      const a = await open();
      const b = await open();
      try {
        const first = await stageOn(a.store, new MemoryCache(), snapshotOwner);
        const second = await stageOn(b.store, new MemoryCache(), snapshotOwner);
        const bytes = async (s: typeof first, batches: AnyEnvelope[][]) => {
          const out: string[] = [];
          for (const batch of batches) out.push(...(await s.feed(batch)).map((o) => encodeEnvelope(o.event)));
          return out;
        };
        // One batch or one event a batch: the same snapshots.
        const one = await bytes(first, [events]);
        const apart = await bytes(second, events.map((e) => [e]));
        expect(one).toHaveLength(3);
        expect(apart).toEqual(one);
        const other = await open();
        try {
          const notOwner = await stageOn(other.store);
          expect(await bytes(notOwner, [events])).toEqual([]);
        } finally {
          await other.done();
        }
      } finally {
        await a.done();
        await b.done();
      }
    });
  });
}

await onBothStores(suite);
