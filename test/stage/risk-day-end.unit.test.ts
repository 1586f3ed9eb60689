/**
 * The risk stage's day's end, Given/When/Then through its handler, by event time: with
 * MARKET_HOURS=nse the first event at or after 15:20 IST cancels the open MIS orders of each
 * instrument it holds or traded that day and flattens each strategy's intraday position with a
 * reduce-only MARKET order written as validated; once a day; a fill that arrives after it is
 * countered; nothing with MARKET_HOURS=off; the same input gives the same events. A daily-loss
 * breach writes REDUCING (not HALTED) to the control topic and squares off the intraday positions.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { controlEnvelope } from "../../src/control/index.ts";
import { createEvent, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { Product } from "../../src/orders/vocabulary.ts";
import { parseLimits } from "../../src/risk/index.ts";
import type { StageContext } from "../../src/stage/context.ts";
import type { Outgoing } from "../../src/stage/processor.ts";
import { riskStage } from "../../src/stage/stages/risk.ts";
import { topicName, topicSpecs } from "../../src/topics.ts";

const quiet = pino({ level: "silent" });
const RELIANCE = 738561;
const TCS = 2953217;
const ist = (hhmmss: string, day = "2025-01-06") => Date.parse(`${day}T${hhmmss}+05:30`);
const iso = (ms: number) => new Date(ms).toISOString();

async function stage(env: Record<string, string> = { MARKET_HOURS: "nse" }, limits: Record<string, unknown> = {}) {
  const db = { query: async () => [] };
  const log = new MemoryLog();
  await log.createTopics(topicSpecs(["paper"]));
  const producer = log.producer();
  const cmd = controlEnvelope("paper", { type: "control.limits", data: { limits: parseLimits(limits) } }, "test");
  await producer.send([{ topic: topicName("control", "paper"), key: cmd.key, value: encodeEnvelope({ ...cmd, ts: iso(ist("09:00:00")) }) }]);
  const ctx = { config: loadConfig({ FEED: "none", ...env }), logger: quiet, log, producer, db, cache: new MemoryCache(), instruments: NSE_MASTER } as unknown as StageContext;
  const s = await riskStage(ctx);
  return (e: AnyEnvelope, m: LogMessage) => Promise.resolve(s.handle(e, m, quiet)) as Promise<Outgoing[]>;
}

let offset = 0;
let seq = 0;
const on = (topic: string, e: AnyEnvelope): [AnyEnvelope, LogMessage] => [e, { topic, partition: 0, offset: offset++, key: e.key, value: new Uint8Array(), headers: {}, timestamp: 0 }];
/** Ids fixed by the test, so that two runs of the same input can be compared. */
const fixed = () => {
  const id = `0194f0a0-0000-7000-8000-${String(++seq).padStart(12, "0")}`;
  return { id, correlation_id: id, trace_id: id };
};

const tick = (rupees: number, at: number, token = RELIANCE) =>
  on("market.ticks", {
    ...createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: rupees * 100, exchange_ts: iso(at), feed: "test" } }),
    ...fixed(),
    ts: iso(at),
  } as AnyEnvelope);

const fill = (side: "BUY" | "SELL", quantity: number, rupees: number, at: number, over: { strategy_id?: string; product?: Product; order_id?: string; token?: number } = {}) => {
  const orderId = over.order_id ?? `o${seq + 1}`;
  return on("paper.orders.filled", {
    ...createEvent({
      type: "order.filled",
      source: "test",
      broker: "paper",
      key: String(over.token ?? RELIANCE),
      data: {
        order_id: orderId, signal_id: orderId, strategy_id: over.strategy_id ?? "mom", instrument_token: over.token ?? RELIANCE, side, quantity, order_type: "MARKET",
        ...(over.product ? { product: over.product } : {}),
        fill_id: `${orderId}-1`, fill_quantity: quantity, fill_price: rupees * 100, filled_quantity: quantity, fees: 0, status: "FILLED",
      },
    }),
    ...fixed(),
    ts: iso(at),
  } as AnyEnvelope);
};

const signal = (at: number, token = RELIANCE, product?: "CNC") =>
  on("paper.signals.raw", {
    ...createEvent({ type: "signal.generated", source: "test", broker: "paper", key: String(token), data: { signal_id: `s${seq}`, strategy_id: "manual", instrument_token: token, side: "BUY", quantity: 1, order_type: "LIMIT", price: token === TCS ? 400_000 : 129_000, ...(product ? { product } : {}) } }),
    ...fixed(),
    ts: iso(at),
  } as AnyEnvelope);

/** What an output says, in a line a test can compare. */
function said(o: Outgoing): unknown[] {
  const e = o.event as AnyEnvelope & { data: Record<string, unknown> };
  if (e.type === "order.cancel_open") return [o.topic, e.type, e.data.instrument_token, e.data.product, e.data.reason];
  if (e.type === "signal.validated") return [o.topic, e.data.strategy_id, e.data.instrument_token, e.data.side, e.data.quantity, e.data.order_type, e.data.product, e.data.reduce_only, e.data.reason];
  return [o.topic, e.type, e.data.state];
}

const SQ = "MIS square-off at 15:20 IST";

/** The morning: intraday positions (mom long 10, rev short 3), a CNC one, and an order on TCS. */
async function morning(handle: Awaited<ReturnType<typeof stage>>) {
  await handle(...tick(1_290, ist("09:30:00")));
  await handle(...tick(4_000, ist("09:30:00"), TCS));
  await handle(...fill("BUY", 10, 1_290, ist("10:00:00")));
  await handle(...fill("SELL", 3, 1_291, ist("10:01:00"), { strategy_id: "rev", product: "MIS" }));
  await handle(...fill("BUY", 50, 1_292, ist("10:02:00"), { product: "CNC" }));
  const judged = await handle(...signal(ist("11:00:00"), TCS));
  expect(judged.map((o) => o.topic)).toEqual(["paper.signals.validated"]);
}

describe("the MIS square-off at 15:20 IST (MARKET_HOURS=nse)", () => {
  test("before 15:20 nothing; the first tick at 15:20 cancels MIS orders and flattens each strategy's intraday position, once", async () => {
    const handle = await stage();
    await morning(handle);
    expect(await handle(...tick(1_290, ist("15:19:59")))).toEqual([]);
    const at = await handle(...tick(1_289, ist("15:20:00"), TCS));
    expect(at.map(said)).toEqual([
      ["paper.orders.commands", "order.cancel_open", RELIANCE, "MIS", SQ],
      ["paper.signals.validated", "mom", RELIANCE, "SELL", 10, "MARKET", "MIS", true, SQ],
      ["paper.signals.validated", "rev", RELIANCE, "BUY", 3, "MARKET", "MIS", true, SQ],
      ["paper.orders.commands", "order.cancel_open", TCS, "MIS", SQ],
    ]);
    // Stamped with the event time of the tick that reached 15:20, keyed by instrument, the order id its signal id.
    for (const o of at) expect(o.event.ts).toBe(iso(ist("15:20:00")));
    const sq = at[1]!.event as AnyEnvelope & { data: { signal_id: string; reference_price: number; checks: unknown[] } };
    expect(sq.key).toBe(String(RELIANCE));
    expect(sq.data.reference_price).toBe(1_290_00);
    expect(sq.data.checks).toEqual([{ rule: "MIS_SQUARE_OFF", passed: true, detail: `${SQ}: mom's intraday position 10 → 0` }]);
    expect(await handle(...tick(1_288, ist("15:21:00")))).toEqual([]);
    // A signal after it is judged as usual (the square-off is not judged again): a CNC order
    // passes, a new intraday one is refused for the rest of the day.
    expect((await handle(...signal(ist("15:22:00"), RELIANCE, "CNC"))).map((o) => o.topic)).toEqual(["paper.signals.validated"]);
    const intraday = await handle(...signal(ist("15:22:30")));
    expect(intraday.map((o) => [o.topic, (o.event.data as { reason_code?: string }).reason_code])).toEqual([["paper.signals.rejected", "MIS_SQUARED_OFF"]]);
  });

  test("its own fills are not countered; a fill that was in flight is, by an opposite order of its quantity", async () => {
    const handle = await stage();
    await morning(handle);
    const at = await handle(...tick(1_289, ist("15:20:00")));
    const mom = at.find((o) => said(o)[1] === "mom")!.event as AnyEnvelope & { data: { signal_id: string } };
    expect(await handle(...fill("SELL", 10, 1_289, ist("15:20:00"), { order_id: mom.data.signal_id }))).toEqual([]);
    const late = await handle(...fill("BUY", 2, 1_289, ist("15:20:01")));
    expect(late.map(said)).toEqual([["paper.signals.validated", "mom", RELIANCE, "SELL", 2, "MARKET", "MIS", true, `${SQ}: a fill after it is undone`]]);
    // A CNC fill is not intraday: left alone.
    expect(await handle(...fill("BUY", 5, 1_289, ist("15:20:02"), { product: "CNC" }))).toEqual([]);
  });

  test("the next day squares off again, at its own 15:20", async () => {
    const handle = await stage();
    await morning(handle);
    await handle(...tick(1_289, ist("15:20:00")));
    await handle(...fill("BUY", 4, 1_289, ist("10:00:00", "2025-01-07")));
    expect(await handle(...tick(1_289, ist("15:19:00", "2025-01-07")))).toEqual([]);
    // mom's 10 and rev's 3 were never filled in this test: still held, flattened again with the new 4.
    expect((await handle(...tick(1_290, ist("15:20:30", "2025-01-07")))).map(said).filter((s) => s[0] === "paper.signals.validated")).toEqual([
      ["paper.signals.validated", "mom", RELIANCE, "SELL", 14, "MARKET", "MIS", true, SQ],
      ["paper.signals.validated", "rev", RELIANCE, "BUY", 3, "MARKET", "MIS", true, SQ],
    ]);
  });

  test("the same input gives the same events, ids included", async () => {
    const run = async () => {
      seq = 0;
      const handle = await stage();
      await morning(handle);
      return (await handle(...tick(1_289, ist("15:20:00")))).map((o) => o.event);
    };
    const [a, b] = [await run(), await run()];
    expect(a.length).toBe(4);
    expect(b).toEqual(a);
  });
});

test("with MARKET_HOURS=off nothing happens at 15:20", async () => {
  const handle = await stage({ MARKET_HOURS: "off" });
  await morning(handle);
  expect(await handle(...tick(1_289, ist("15:20:00")))).toEqual([]);
});

describe("the daily loss", () => {
  test("a breach writes REDUCING to the control topic and squares off the intraday positions, whatever the hours", async () => {
    const handle = await stage({ MARKET_HOURS: "off" }, { max_daily_loss: 1_000_00, max_position_quantity: 1_000 });
    await morning(handle);
    // mom long 10 + CNC 50 bought ~₹1,290, rev short 3: ₹1,270 loses ~₹1,100 on the day.
    const out = await handle(...tick(1_270, ist("12:00:00")));
    const why = expect.stringContaining("daily loss limit breached, intraday positions squared off (DAILY_LOSS_BREACHED: day P&L ₹-");
    expect(out.map(said)).toEqual([
      ["paper.control", "control.trading_state", "REDUCING"],
      ["paper.orders.commands", "order.cancel_open", RELIANCE, "MIS", why],
      ["paper.signals.validated", "mom", RELIANCE, "SELL", 10, "MARKET", "MIS", true, why],
      ["paper.signals.validated", "rev", RELIANCE, "BUY", 3, "MARKET", "MIS", true, why],
      ["paper.orders.commands", "order.cancel_open", TCS, "MIS", why],
    ]);
    // Then REDUCING: an order that adds is refused, written once.
    const refused = await handle(...signal(ist("12:00:01")));
    expect((refused[0]!.event.data as { reason_code: string }).reason_code).toBe("REDUCE_ONLY");
    expect(await handle(...tick(1_265, ist("12:00:02")))).toEqual([]);
  });

  test("a fill read after a lower tick (fills and ticks are two topics) is marked at that tick: the loss breaches at once", async () => {
    const handle = await stage({ MARKET_HOURS: "off" }, { max_daily_loss: 500_00 });
    // The tick at ₹1,170 came in before the fill of the BUY at ₹1,200 was read: ₹3,000 lost on 100.
    expect(await handle(...tick(1_170, ist("10:05:00")))).toEqual([]);
    const out = await handle(...fill("BUY", 100, 1_200, ist("10:00:01")));
    expect(out.map(said).slice(0, 2)).toEqual([
      ["paper.control", "control.trading_state", "REDUCING"],
      ["paper.orders.commands", "order.cancel_open", RELIANCE, "MIS", expect.stringContaining("DAILY_LOSS_BREACHED: day P&L ₹-3000.00")],
    ]);
  });
});
