/**
 * The risk stage keeps its own state in its own table (risk_books) on a real PostgreSQL: stopped
 * and started again (a new stage, a new connection), it still knows its positions, the strategies'
 * orders of the day and the day's P&L, without reading the ledger, the orders or the cache; after
 * a rebalance it holds the instruments of the partitions it owns, no others. And a database that
 * had fills before risk kept its own state carries their positions over, once.
 * Through the stream processor, as a worker runs it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import postgres from "postgres";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { sendControl, type ControlCommand } from "../../src/control/index.ts";
import { createEvent, decodeEnvelope, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import type { EventType, PayloadOf } from "../../src/events/payloads.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import { partitionFor } from "../../src/log/partitioner.ts";
import type { Consumer, LogMessage, OutgoingMessage, Producer } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { StreamProcessor } from "../../src/stage/processor.ts";
import { type Dedup } from "../../src/stage/dedup.ts";
import { riskStage } from "../../src/stage/stages/risk.ts";
import { sqlDb } from "../../src/store/db.ts";
import { loadMigrations, migrate, openStore, type Store } from "../../src/store/index.ts";
import { loadRiskBooks } from "../../src/store/risk-books.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { needs } from "../support/infra.ts";
import { parseLimits } from "../../src/risk/index.ts";
import { topicName, topicSpecs } from "../../src/topics.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const quiet = pino({ level: "silent" });
const RELIANCE = 738561;
/** Monday 6 January 2025, 10:00 IST. */
const T0 = Date.parse("2025-01-06T04:30:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

let offset = 0;
function message<T extends EventType>(topic: string, type: T, data: PayloadOf<T>, at: number): LogMessage {
  const e = { ...createEvent({ type, source: "test", broker: topic.startsWith("paper.") ? "paper" : "shared", key: String(RELIANCE), data } as never), ts: iso(at) } as AnyEnvelope;
  return { topic, partition: 0, offset: offset++, key: e.key, value: Buffer.from(encodeEnvelope(e)), headers: {}, timestamp: at };
}
const tick = (rupees: number, at: number) => message("market.ticks", "market.tick", { instrument_token: RELIANCE, last_price: rupees * 100, exchange_ts: iso(at), feed: "test" }, at);
const fill = (side: "BUY" | "SELL", quantity: number, rupees: number, at: number) =>
  message(
    "paper.orders.filled",
    "order.filled",
    { order_id: `f${offset}`, signal_id: `f${offset}`, strategy_id: "mom", instrument_token: RELIANCE, side, quantity, order_type: "MARKET", fill_id: `f${offset}`, fill_quantity: quantity, fill_price: rupees * 100, filled_quantity: quantity, fees: 0, status: "FILLED" },
    at,
  );
const TCS = 2953217;
const tcs = (id: string, at: number) =>
  message("paper.signals.raw", "signal.generated", { signal_id: id, strategy_id: "tcs", instrument_token: TCS, side: "BUY", quantity: 1, order_type: "MARKET" }, at);
const buy = (id: string, quantity: number, at: number, strategy_id = "mom") =>
  message("paper.signals.raw", "signal.generated", { signal_id: id, strategy_id, instrument_token: RELIANCE, side: "BUY", quantity, order_type: "MARKET" }, at);

/** The log outlives the stage's restarts, as Kafka or the journaled in-process log does. */
const log = new MemoryLog();
await log.createTopics(topicSpecs(["paper"]));
const controls = log.producer();
const control = (cmd: ControlCommand) => sendControl(controls, "paper", cmd, "test");

/** One life of the risk stage on `url`: a new connection, a new stage, as a restarted worker. */
async function start(url: string, env: Record<string, string> = {}) {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const sent: OutgoingMessage[] = [];
  const producer = { send: async (m: OutgoingMessage[]) => void sent.push(...m), close: async () => {} } as unknown as Producer;
  const ctx: StageContext = { config: loadConfig({ FEED: "none", ...env }), logger: quiet, log, producer, db: sqlDb(sql), cache: new MemoryCache(), instruments: NSE_MASTER, close: async () => {} };
  const s = await riskStage(ctx);
  const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async () => {} };
  const processor = new StreamProcessor({
    stage: "risk", groupId: "g", topics: s.topics, log, producer, dedup, handle: s.handle, logger: quiet,
    afterBatch: s.afterBatch, afterSend: s.afterSend, idempotentTopics: s.idempotentTopics, conflation: s.conflation, attempts: 1,
  });
  /** The decisions of one batch, signal id → VALIDATED or the reason code (and the failed checks' details). */
  const decided = new Map<string, Array<{ rule: string; passed: boolean; detail?: string }>>();
  /** The control commands the stage wrote (a breach's REDUCING), in order. */
  const commands: Array<{ type: string; data: { state?: string; reason?: string } }> = [];
  /** The orders risk sent itself (the day's end, the daily-loss square-off): strategy, side, quantity, reason. */
  const squareOffs: Array<[string, string, number, string]> = [];
  const isOwn = (e: { data: { checks?: Array<{ rule: string }> } }) => ["MIS_SQUARE_OFF", "DAILY_LOSS_LIQUIDATION"].includes(e.data.checks?.[0]?.rule ?? "");
  async function batch(messages: LogMessage[]) {
    sent.length = 0;
    await processor.processBatch(messages);
    for (const m of sent) if (m.topic === topicName("control", "paper")) commands.push(decodeEnvelope(m.value as string) as never);
    for (const m of sent) {
      const e = decodeEnvelope(m.value as string) as AnyEnvelope & { data: { strategy_id: string; side: string; quantity: number; reason: string; checks?: Array<{ rule: string }> } };
      if (e.type === "signal.validated" && isOwn(e)) squareOffs.push([e.data.strategy_id, e.data.side, e.data.quantity, e.data.reason]);
    }
    return Object.fromEntries(
      sent.filter((m) => m.topic.includes(".signals.") && !isOwn(decodeEnvelope(m.value as string) as never)).map((m) => {
        const e = decodeEnvelope(m.value) as AnyEnvelope & { data: { signal_id: string; reason_code?: string; checks: Array<{ rule: string; passed: boolean; detail?: string }> } };
        decided.set(e.data.signal_id, e.data.checks);
        const failed = e.data.checks.filter((c) => !c.passed).map((c) => `${c.rule}: ${c.detail}`);
        return [e.data.signal_id, e.type === "signal.validated" ? "VALIDATED" : `${e.data.reason_code} (${failed.join("; ")})`];
      }),
    );
  }
  /** What one check of a judged signal said. */
  const check = (id: string, rule: string) => decided.get(id)?.find((c) => c.rule === rule)?.detail;
  return { stage: s, batch, check, commands, squareOffs, close: () => sql.end({ timeout: 5 }) };
}

const up = await needs("postgres");

// Skipped only when PostgreSQL does not answer and REQUIRE_INFRA is unset: with REQUIRE_INFRA=1
// (test:all, CI) `needs` fails a test instead.
describe.if(up)("the risk stage's own state, on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof freshDatabaseUrl>>;
  let store: Store;
  beforeAll(async () => {
    db = await freshDatabaseUrl(undefined, "risk");
    store = await openStore({ databaseUrl: db.url });
    // ₹1,000 of daily loss, 2 orders a strategy a day, 150 units an instrument.
    await control({ type: "control.limits", data: { limits: parseLimits({ max_daily_loss: 1_000_00, max_orders_per_strategy_per_day: 2, max_position_quantity: 150 }) } });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  test("given a position, two orders of the day and a loss, when the stage restarts, then it keeps them all: the 3rd order and a position past the limit are refused, and a further fall breaches: REDUCING and squared off", async () => {
    const first = await start(db.url);
    expect(
      await first.batch([tick(1_290, T0), fill("BUY", 100, 1_290, T0 + 1_000), buy("s1", 1, T0 + 2_000), buy("s2", 1, T0 + 3_000), tick(1_285, T0 + 4_000)]),
    ).toEqual({ s1: "VALIDATED", s2: "VALIDATED" });
    await first.close();

    const second = await start(db.url);
    // Its own ticks only: the first tick after the restart gives it a price again (₹1,285, no change).
    const after = await second.batch([tick(1_285, T0 + 5_000), buy("s3", 1, T0 + 6_000), buy("r1", 60, T0 + 6_001, "rev")]);
    expect(after.s3).toStartWith("MAX_ORDERS_PER_DAY (MAX_ORDERS_PER_DAY: mom has 2 orders today, limit 2)");
    expect(after.r1).toStartWith("MAX_POSITION (MAX_POSITION: position 100 → 160, limit ±150");
    // The day's P&L went on from −₹500: ₹6 more a unit is −₹1,100, past −₹1,000.
    expect(await second.batch([tick(1_279, T0 + 7_000), buy("r2", 1, T0 + 8_000, "rev")])).toEqual({
      r2: expect.stringContaining("REDUCE_ONLY (REDUCE_ONLY: reduce-only: BUY 1 against a position of 100 does not reduce it; DAILY_LOSS_BREACHED: day P&L ₹-1100.00"),
    });
    // REDUCING is written to the control topic for the API and the other stages to see, and the
    // intraday position (no product: MIS) is squared off.
    expect(second.commands.map((c) => [c.type, c.data.state])).toEqual([["control.trading_state", "REDUCING"]]);
    expect(second.squareOffs).toEqual([["mom", "SELL", 100, expect.stringContaining("daily loss limit breached, intraday positions squared off (DAILY_LOSS_BREACHED: day P&L ₹-1100.00")]]);
    await second.close();
  });

  test("a rebalance loads the rows of the instruments whose partitions the worker owns now, and only those", async () => {
    await control({ type: "control.trading_state", data: { state: "ACTIVE", reason: "test" } });
    const risk = await start(db.url);
    const owning = (partitions: number[]) => ({ assignments: () => partitions.map((partition) => ({ topic: "paper.orders.filled", partition })) }) as unknown as Consumer;
    const reliances = partitionFor(String(RELIANCE), 6);
    expect(partitionFor(String(TCS), 6)).not.toBe(reliances);
    const dayLoss = async (id: string, at: number) => {
      await risk.batch([tcs(id, at)]);
      return risk.check(id, "DAILY_LOSS_BREACHED");
    };
    // Another worker took RELIANCE's partition: its position and its loss are not this one's.
    await risk.stage.onBatch!(owning([0, 1, 2, 3, 4, 5].filter((p) => p !== reliances)));
    await risk.batch([message("market.ticks", "market.tick", { instrument_token: TCS, last_price: 4_000_00, exchange_ts: iso(T0 + 9_000), feed: "test" }, T0 + 9_000)]);
    expect(await dayLoss("x1", T0 + 9_001)).toBe("day P&L ₹0.00, limit -₹1000.00");
    // It comes back, and with it the saved position, marked at the last price the stage saved
    // (₹1,279, the first test's last tick, against ₹1,290 bought: ₹-1,100).
    await risk.stage.onBatch!(owning([0, 1, 2, 3, 4, 5]));
    expect(await dayLoss("x2", T0 + 9_002)).toBe("day P&L ₹-1100.00, limit -₹1000.00: breached");
    await risk.close();
  });

  test("the MIS square-off survives a restart: squared off at 15:20 IST, a restart at 15:25 sends nothing again, and a fill in flight that comes after is countered", async () => {
    const fresh = await freshDatabaseUrl(undefined, "riskdayend");
    const migrated = await openStore({ databaseUrl: fresh.url });
    try {
      await control({ type: "control.trading_state", data: { state: "ACTIVE", reason: "test" } });
      await control({ type: "control.limits", data: { limits: parseLimits({}) } });
      const nse = { MARKET_HOURS: "nse" };
      const ist = (hhmm: string) => Date.parse(`2025-01-06T${hhmm}:00+05:30`);
      const first = await start(fresh.url, nse);
      await first.batch([tick(1_290, ist("10:00")), fill("BUY", 30, 1_290, ist("10:01"))]);
      await first.batch([tick(1_291, ist("15:20"))]);
      expect(first.squareOffs).toEqual([["mom", "SELL", 30, "MIS square-off at 15:20 IST"]]);
      await first.close();

      const second = await start(fresh.url, nse);
      await second.batch([tick(1_292, ist("15:25"))]);
      expect(second.squareOffs).toEqual([]);
      // An order that filled just before 15:20 but reached risk after the square-off: undone.
      await second.batch([fill("BUY", 4, 1_290, ist("15:19"))]);
      expect(second.squareOffs).toEqual([["mom", "SELL", 4, "MIS square-off at 15:20 IST: a fill after it is undone"]]);
      await second.close();
    } finally {
      await migrated.close();
      await fresh.drop();
    }
  });

  test("a database with fills from before risk kept its own state carries their open positions over, once", async () => {
    const old = await freshDatabaseUrl(undefined, "riskold");
    const sql = postgres(old.url, { max: 1, onnotice: () => {} });
    try {
      await migrate(sql, (await loadMigrations()).filter((m) => m.version < 12));
      await sql`insert into ledger_fills (event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at) values
        (gen_random_uuid(), 'paper', 'a', 'o1', 'mom', ${RELIANCE}, 'BUY', 30, 129000, 10, now()),
        (gen_random_uuid(), 'paper', 'b', 'o2', 'mom', ${RELIANCE}, 'SELL', 10, 129500, 10, now()),
        (gen_random_uuid(), 'paper', 'c', 'o3', 'rev', ${RELIANCE}, 'SELL', 5, 129100, 10, now()),
        (gen_random_uuid(), 'paper', 'd', 'o4', 'rev', 2953217, 'BUY', 5, 400000, 10, now()),
        (gen_random_uuid(), 'paper', 'e', 'o5', 'rev', 2953217, 'SELL', 5, 401000, 10, now())`;
      expect(await migrate(sql, await loadMigrations())).toContain(12);
      const rows = await loadRiskBooks<{ strategy_id: string; quantity: number; last_price: number; unrealised_pnl: number }>(sqlDb(sql), "paper");
      // The closed TCS position is not carried; RELIANCE's two are, at their last fill's price.
      expect(rows.map((r) => [r.token, r.positions.map((p) => [p.strategy_id, p.quantity, p.last_price, p.unrealised_pnl])])).toEqual([
        [RELIANCE, [["mom", 20, 129500, 0], ["rev", -5, 129100, 0]]],
      ]);
      const risk = await start(old.url);
      expect((await risk.batch([tick(1_290, T0), buy("m1", 5_000, T0 + 1)]))["m1"]).toContain("position 15 → 5015");
      await risk.close();
    } finally {
      await sql.end({ timeout: 5 });
      await old.drop();
    }
  });
});
