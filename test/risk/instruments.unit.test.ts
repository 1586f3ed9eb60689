/**
 * The risk stage judges instruments by the master in its context (the worker's, read from the
 * database at start), not by a list of its own: a token only that master lists is known, with
 * that master's lot size.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { instrumentMaster, NSE_MASTER, type Instrument, type InstrumentMaster } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { riskStage } from "../../src/stage/stages/risk.ts";
import { topicSpecs } from "../../src/topics.ts";

const NIFTY_FUT: Instrument = { instrument_token: 13_238_786, exchange: "NFO", tradingsymbol: "NIFTY26DECFUT", name: "NIFTY", tick_size: 10, lot_size: 75, reference_price: 2_612_000 };
const quiet = pino({ level: "silent" });

async function stageOn(instruments: InstrumentMaster) {
  const config = loadConfig({ FEED: "none" });
  const log = new MemoryLog();
  await log.createTopics(topicSpecs(config.activeBrokers));
  const ctx = { config, log, logger: quiet, db: { query: async () => [] }, cache: new MemoryCache(), instruments } as unknown as StageContext;
  return riskStage(ctx);
}

const signal = (quantity: number) =>
  createEvent(
    {
      type: "signal.generated",
      source: "gateway",
      broker: "paper",
      key: String(NIFTY_FUT.instrument_token),
      data: { signal_id: `s${quantity}`, strategy_id: "manual", instrument_token: NIFTY_FUT.instrument_token, side: "BUY", quantity, order_type: "LIMIT", price: 2_612_000 },
    },
    {},
  ) as AnyEnvelope;
const message = { topic: "paper.signals.raw", partition: 0, offset: 0n, key: String(NIFTY_FUT.instrument_token), value: new Uint8Array(), headers: {} } as unknown as LogMessage;

async function verdict(instruments: InstrumentMaster, quantity: number) {
  const stage = await stageOn(instruments);
  const out = await stage.handle(signal(quantity), message, quiet);
  expect(out).toHaveLength(1);
  const data = out[0]!.event.data as { reason_code?: string; checks: Array<{ rule: string; passed: boolean }> };
  return { reason: data.reason_code, checks: new Map(data.checks.map((c) => [c.rule, c.passed])) };
}

describe("the risk stage's instruments", () => {
  test("given the built-in NSE master, when a signal names a future it does not list, then it is refused UNKNOWN_INSTRUMENT", async () => {
    expect((await verdict(NSE_MASTER, 75)).reason).toBe("UNKNOWN_INSTRUMENT");
  });

  test("given a master that lists the future, when a signal names it, then it is known and held to that master's lot size", async () => {
    const master = instrumentMaster([...NSE_MASTER.all(), NIFTY_FUT]);
    const whole = await verdict(master, 75);
    expect(whole.checks.get("UNKNOWN_INSTRUMENT")).toBe(true);
    expect(whole.checks.get("LOT_SIZE")).toBe(true);
    const part = await verdict(master, 50);
    expect(part.checks.get("UNKNOWN_INSTRUMENT")).toBe(true);
    expect(part.checks.get("LOT_SIZE")).toBe(false);
  });
});
