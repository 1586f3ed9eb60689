/**
 * Send deadlines in risk: a signal carrying `expires_at` (an order placed through the API) that
 * reaches risk after it is refused with SEND_TIMEOUT and never reaches execution; one in time,
 * and a strategy's signal (no deadline), are judged by the rules as before.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, type AnyEnvelope } from "../../src/events/envelope.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { expiredSignal } from "../../src/risk/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { riskStage } from "../../src/stage/stages/risk.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import { topicSpecs } from "../../src/topics.ts";

describe("expiredSignal", () => {
  const at = Date.parse("2026-12-07T09:15:30.000Z");
  test("no deadline, or one not passed, is in time", () => {
    expect(expiredSignal({}, at)).toBeUndefined();
    expect(expiredSignal({ expires_at: "2026-12-07T09:15:30.000Z" }, at)).toBeUndefined();
    expect(expiredSignal({ expires_at: "2026-12-07T09:16:00.000Z" }, at)).toBeUndefined();
  });
  test("a passed deadline is SEND_TIMEOUT, saying by how much", () => {
    expect(expiredSignal({ expires_at: "2026-12-07T09:15:29.750Z" }, at)).toEqual({
      reason_code: "SEND_TIMEOUT",
      message: "reached risk 250 ms after its send deadline 2026-12-07T09:15:29.750Z: not sent to the broker",
    });
  });
});

describe("the risk stage", () => {
  async function stage() {
    const config = loadConfig({ FEED: "none" });
    // Its controls come from the control topics: an in-process log with none written (ACTIVE, default limits).
    const log = new MemoryLog();
    await log.createTopics(topicSpecs(config.activeBrokers));
    const ctx = {
      config,
      log,
      logger: pino({ level: "silent" }),
      db: { query: async () => [] },
      cache: new MemoryCache(),
      instruments: NSE_MASTER,
    } as unknown as StageContext;
    return riskStage(ctx);
  }
  const signal = (extra: Record<string, unknown>) =>
    createEvent(
      {
        type: "signal.generated",
        source: "gateway",
        broker: "paper",
        key: "738561",
        data: { signal_id: "o1", strategy_id: "manual", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", ...extra },
      },
      {},
    ) as AnyEnvelope;
  const message = { topic: "paper.signals.raw", partition: 0, offset: 0n, key: "738561", value: new Uint8Array(), headers: {} } as unknown as LogMessage;

  test("a signal past its deadline is refused with SEND_TIMEOUT, on signals.rejected", async () => {
    const s = await stage();
    const out = await s.handle(signal({ expires_at: new Date(Date.now() - 1_000).toISOString() }), message, pino({ level: "silent" }));
    expect(out).toHaveLength(1);
    expect(out[0]!.topic).toBe("paper.signals.rejected");
    expect(out[0]!.event).toMatchObject({ type: "signal.rejected", data: { signal_id: "o1", reason_code: "SEND_TIMEOUT" } });
  });

  test("a signal in time, and one without a deadline, go through the rules", async () => {
    const s = await stage();
    for (const extra of [{ expires_at: new Date(Date.now() + 30_000).toISOString() }, {}]) {
      const out = await s.handle(signal(extra), message, pino({ level: "silent" }));
      expect(out).toHaveLength(1);
      // No market price yet in this bare stage: the rules refuse it, but not for its deadline.
      expect((out[0]!.event.data as { reason_code?: string }).reason_code).not.toBe("SEND_TIMEOUT");
    }
  });
});
