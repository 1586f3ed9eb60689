/**
 * The risk stage decides by event time, Given/When/Then through its handler: the throttle counts
 * signals by the time they carry, however far apart they are handled; a send deadline is judged
 * by the latest event time the stage has seen (ticks included), not the wall clock; last prices
 * are only those of the ticks it consumed; and its source reads no wall clock.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { controlEnvelope } from "../../src/control/index.ts";
import { createEvent, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import { parseLimits } from "../../src/risk/index.ts";
import { topicName, topicSpecs } from "../../src/topics.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { riskStage } from "../../src/stage/stages/risk.ts";

const quiet = pino({ level: "silent" });
const RELIANCE = 738561;
/** Monday 6 January 2025, 10:00 IST. */
const T0 = Date.parse("2025-01-06T04:30:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The stage with `limits` set for paper (as the operator set them: a command on its control topic,
 * stamped at T0), and nothing else in the store.
 */
async function stage(limits: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const db = { query: async () => [] };
  const log = new MemoryLog();
  await log.createTopics(topicSpecs(["paper"]));
  const producer = log.producer();
  const cmd = controlEnvelope("paper", { type: "control.limits", data: { limits: parseLimits(limits) } }, "test");
  await producer.send([{ topic: topicName("control", "paper"), key: cmd.key, value: encodeEnvelope({ ...cmd, ts: iso(T0) }) }]);
  const ctx = { config: loadConfig({ FEED: "none", ...env }), logger: quiet, log, producer, db, cache: new MemoryCache(), instruments: NSE_MASTER } as unknown as StageContext;
  return riskStage(ctx);
}

let offset = 0;
const on = (topic: string, e: AnyEnvelope): [AnyEnvelope, LogMessage] => [e, { topic, partition: 0, offset: offset++, key: e.key, value: new Uint8Array(), headers: {}, timestamp: 0 }];

/** A tick at exchange time `at`, published then. */
const tick = (price: number, at: number) =>
  on("market.ticks", {
    ...createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(RELIANCE), data: { instrument_token: RELIANCE, last_price: price, exchange_ts: iso(at), feed: "test" } }),
    ts: iso(at),
  } as AnyEnvelope);

/** A MARKET BUY of 1 created at `at`. */
const signal = (id: string, at: number, extra: Record<string, unknown> = {}) =>
  on("paper.signals.raw", {
    ...createEvent({
      type: "signal.generated",
      source: "test",
      broker: "paper",
      key: String(RELIANCE),
      data: { signal_id: id, strategy_id: "manual", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "MARKET", ...extra },
    }),
    ts: iso(at),
  } as AnyEnvelope);

type Judged = { topic: string; event: { data: { reason_code?: string; checks: Array<{ rule: string; passed: boolean; detail?: string }> } } };
async function judge(s: Awaited<ReturnType<typeof stage>>, [e, m]: [AnyEnvelope, LogMessage]): Promise<Judged> {
  const out = (await s.handle(e, m, quiet)) as unknown as Judged[];
  expect(out).toHaveLength(1);
  return out[0]!;
}
const reason = (j: Judged) => (j.topic === "paper.signals.validated" ? "VALIDATED" : j.event.data.reason_code);

describe("the throttle, by event time", () => {
  test("given one signal validated, when the next comes 1 ms later in event time but 1.2 s later in wall time, then it is throttled in the same window", async () => {
    const s = await stage({ max_orders_per_second: 1 });
    await s.handle(...tick(1_290_00, T0), quiet);
    expect(reason(await judge(s, signal("a", T0 + 1)))).toBe("VALIDATED");
    await Bun.sleep(1_200);
    const second = await judge(s, signal("b", T0 + 2));
    expect(reason(second)).toBe("RATE_LIMITED");
    expect(second.event.data.checks.find((c) => c.rule === "RATE_LIMITED")!.detail).toBe("1 orders in the last second, limit 1");
    // A second of event time later the window has moved on, however little wall time passed.
    expect(reason(await judge(s, signal("c", T0 + 1_002)))).toBe("VALIDATED");
  });
});

describe("the send deadline, by the event clock", () => {
  test("given a tick 60 s after an order's creation, then the order (deadline 30 s) is refused SEND_TIMEOUT, though the wall clock is years later", async () => {
    const s = await stage();
    await s.handle(...tick(1_290_00, T0 + 60_000), quiet);
    const late = await judge(s, signal("o1", T0, { expires_at: iso(T0 + 30_000) }));
    expect(late.topic).toBe("paper.signals.rejected");
    expect(late.event.data.reason_code).toBe("SEND_TIMEOUT");
    expect(late.event.data.checks[0]!.detail).toBe(`reached risk 30000 ms after its send deadline ${iso(T0 + 30_000)}: not sent to the broker`);
  });

  test("given the market's clock before the deadline, then an order of a replayed day is judged by the rules, not refused for its deadline", async () => {
    const s = await stage();
    await s.handle(...tick(1_290_00, T0 + 10_000), quiet);
    expect(reason(await judge(s, signal("o2", T0 + 5_000, { expires_at: iso(T0 + 30_000) })))).toBe("VALIDATED");
  });

  test("a tick stamped ahead of its publication counts at its publication: a feed's clock running ahead expires nothing", async () => {
    const s = await stage();
    const [e, m] = tick(1_290_00, T0);
    const ahead = { ...e, data: { ...(e.data as object), exchange_ts: iso(T0 + 3_600_000) } } as AnyEnvelope;
    await s.handle(ahead, m, quiet);
    expect(reason(await judge(s, signal("o3", T0, { expires_at: iso(T0 + 30_000) })))).toBe("VALIDATED");
  });
});

describe("last prices", () => {
  test("before this stage has seen a tick of the instrument, a MARKET or LIMIT order is refused NO_MARKET_PRICE; after one, judged", async () => {
    const s = await stage();
    expect(reason(await judge(s, signal("p1", T0)))).toBe("NO_MARKET_PRICE");
    expect(reason(await judge(s, signal("p2", T0, { order_type: "LIMIT", price: 1_290_00 })))).toBe("NO_MARKET_PRICE");
    await s.handle(...tick(1_290_00, T0 + 1), quiet);
    expect(reason(await judge(s, signal("p3", T0 + 2, { order_type: "LIMIT", price: 1_290_00 })))).toBe("VALIDATED");
  });
});

test("the risk stage's decisions read no wall clock: no Date.now() or new Date() in src/risk/ or the stage (controls carry their own time)", async () => {
  const dir = join(import.meta.dir, "../../src/risk");
  const sources = await Promise.all((await readdir(dir)).filter((f) => f.endsWith(".ts")).map(async (f) => [`src/risk/${f}`, await readFile(join(dir, f), "utf8")] as const));
  const stageSource = await readFile(join(import.meta.dir, "../../src/stage/stages/risk.ts"), "utf8");
  const clockReads = /Date\.now\(|new Date\(\s*\)|performance\.now\(/;
  const offenders = [...sources, ["src/stage/stages/risk.ts", stageSource] as const].filter(([, text]) => clockReads.test(text.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, ""))).map(([f]) => f);
  expect(offenders).toEqual([]);
});

describe("market hours, by event time", () => {
  test("given MARKET_HOURS=nse, a signal stamped on a Sunday is rejected MARKET_CLOSED whatever the wall clock says, an AMO then passes, and a signal stamped on Monday at 10:00 IST passes", async () => {
    const s = await stage({}, { MARKET_HOURS: "nse" });
    const sunday = T0 - 86_400_000;
    await s.handle(...tick(1_290_00, sunday), quiet);
    const closed = await judge(s, signal("sun", sunday + 1));
    expect(reason(closed)).toBe("MARKET_CLOSED");
    expect(closed.event.data.checks.find((c) => c.rule === "MARKET_CLOSED")!.detail).toContain("it opens Mon 6 Jan 2025 09:15 IST");
    expect(reason(await judge(s, signal("sun-amo", sunday + 2, { amo: true })))).toBe("VALIDATED");
    expect(reason(await judge(s, signal("mon", T0)))).toBe("VALIDATED");
    expect(reason(await judge(s, signal("mon-amo", T0 + 1, { amo: true })))).toBe("AMO_MARKET_OPEN");
  });
});
