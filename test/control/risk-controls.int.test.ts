/**
 * Risk applying controls, Given/When/Then, on both logs: the risk stage and the strategy stage
 * built over the in-process log and over real Kafka, controls written with sendControl, and a
 * signal handled right after the control was acknowledged, with no wait: it must be judged under
 * that control. The signal's batch is handed to onBatch as the stream processor hands it (the
 * catch-up starts there, beside the dedup lookup), or not at all as a backtest does; both must
 * judge under the control. On Kafka the topics are the shared `paper.control` and friends; each
 * test sets what it needs first and the suite leaves paper ACTIVE under the default limits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { ControlReader, sendControl, type ControlCommand, type StrategyDef } from "../../src/control/index.ts";
import { AlphaError } from "../../src/errors.ts";
import { createEvent, type AnyEnvelope, type Envelope } from "../../src/events/envelope.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Consumer, Log, LogMessage, Producer } from "../../src/log/port.ts";
import { DEFAULT_LIMITS, parseLimits } from "../../src/risk/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import type { Outgoing } from "../../src/stage/processor.ts";
import type { Stage } from "../../src/stage/stage.ts";
import { riskStage } from "../../src/stage/stages/risk.ts";
import { strategyStage } from "../../src/stage/stages/strategy.ts";
import { sqlDb } from "../../src/store/db.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { topicName, topicSpecs } from "../../src/topics.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const config = loadConfig({ ACTIVE_BROKERS: "paper" });
const quiet = pino({ level: "silent" });
const noConsumer = { assignments: () => [] } as unknown as Consumer;
const RELIANCE = 738561;
const CONTROL = topicName("control", "paper");
/** The default limits but the throttle: these tests judge many orders a second. */
const LIMITS = parseLimits({ max_orders_per_second: 100_000 });

const tick = (price: number, token = RELIANCE) =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } }) as AnyEnvelope;

let seq = 0;
const signal = (quantity: number, extra: { strategy_id?: string; strategy_offset?: number } = {}) =>
  createEvent({
    type: "signal.generated",
    source: "test",
    broker: "paper",
    key: String(RELIANCE),
    data: { signal_id: `s${Date.now()}-${seq++}`, strategy_id: extra.strategy_id ?? "manual", instrument_token: RELIANCE, side: "BUY", quantity, order_type: "MARKET", ...(extra.strategy_offset !== undefined ? { strategy_offset: extra.strategy_offset } : {}) },
  }) as AnyEnvelope;

const verdict = (out: Outgoing[]) => {
  const e = out.find((o) => o.topic.includes("signals."))!.event as Envelope<"signal.rejected">;
  return e.type === "signal.rejected" ? e.data.reason_code : "VALIDATED";
};

function suite(name: string, connect: () => Promise<Log>) {
  describe(`risk applies controls: ${name}`, () => {
    let log: Log;
    let store: Store;
    let producer: Producer;
    let risk: Stage;
    let ctxs: StageContext[] = [];

    /** A new batch with one signal, as the stream processor hands it over (or, `withBatch` false, as a backtest does). */
    async function judge(e: AnyEnvelope, withBatch = true, stage = risk): Promise<string> {
      const m = { topic: topicName("signalsRaw", "paper"), key: e.key } as LogMessage;
      await stage.onBatch!(noConsumer, withBatch ? [m] : undefined);
      return verdict(await stage.handle(e, m, quiet));
    }
    const control = (cmd: ControlCommand) => sendControl(producer, "paper", cmd, "test");
    /** The offset the next command on paper's control topic gets. */
    const nextOffset = async () => (await log.endOffsets(CONTROL))[0]!;

    beforeAll(async () => {
      log = await connect();
      await log.createTopics(topicSpecs(["paper"]));
      store = await openStore();
      producer = log.producer();
      await control({ type: "control.trading_state", data: { state: "ACTIVE", reason: "" } });
      await control({ type: "control.limits", data: { limits: LIMITS } });
      const ctx = (): StageContext => ({ config, logger: quiet, log, producer, db: sqlDb(store.sql), cache: new MemoryCache(), instruments: NSE_MASTER, close: async () => {} });
      ctxs = [ctx()];
      risk = await riskStage(ctxs[0]!);
      await risk.handle(tick(129_000), { topic: "market.ticks" } as LogMessage, quiet);
    });
    afterAll(async () => {
      await control({ type: "control.trading_state", data: { state: "ACTIVE", reason: "" } }).catch(() => {});
      await control({ type: "control.limits", data: { limits: DEFAULT_LIMITS } }).catch(() => {});
      await producer?.close();
      await log?.close();
      await store?.close();
    });

    test("given HALTED was acknowledged, an order created at once is rejected TRADING_HALTED; after ACTIVE it is judged normally", async () => {
      for (let round = 0; round < 5; round++) {
        const withBatch = round % 2 === 0;
        await control({ type: "control.trading_state", data: { state: "HALTED", reason: `round ${round}` } });
        expect(await judge(signal(1), withBatch)).toBe("TRADING_HALTED");
        await control({ type: "control.trading_state", data: { state: "ACTIVE", reason: "" } });
        expect(await judge(signal(1), withBatch)).toBe("VALIDATED");
      }
    });

    test("given the catch-up started with the batch failed (the log down a moment), the retried signal reads the end offsets again and is judged under the control", async () => {
      let failNext = false;
      let reads = 0;
      // The same log, but its end offsets can be made to fail once.
      const flaky: Log = Object.create(log, {
        endOffsets: {
          value: async (topic: string) => {
            reads++;
            if (failNext) {
              failNext = false;
              throw new AlphaError("LOG_UNAVAILABLE", "end offsets: the log is down", { canRetry: true });
            }
            return log.endOffsets(topic);
          },
        },
      });
      const stage = await riskStage({ ...ctxs[0]!, log: flaky });
      await stage.handle(tick(129_000), { topic: "market.ticks" } as LogMessage, quiet);
      await control({ type: "control.trading_state", data: { state: "HALTED", reason: "flaky" } });
      const e = signal(1);
      const m = { topic: topicName("signalsRaw", "paper"), key: e.key } as LogMessage;
      failNext = true;
      const before = reads;
      await stage.onBatch!(noConsumer, [m]);
      // Started with the batch, before the signal is handled.
      expect(reads).toBe(before + 1);
      await expect(Promise.resolve(stage.handle(e, m, quiet))).rejects.toMatchObject({ code: "LOG_UNAVAILABLE" });
      // The processor's retry handles the signal again in the same batch: a fresh read, not the failed one.
      expect(verdict(await stage.handle(e, m, quiet))).toBe("TRADING_HALTED");
      expect(reads).toBe(before + 2);
      await control({ type: "control.trading_state", data: { state: "ACTIVE", reason: "" } });
      expect(await judge(signal(1), true, stage)).toBe("VALIDATED");
    });

    test("given a lowered limit was acknowledged, an order above it is rejected; after a raised one it passes", async () => {
      for (let round = 0; round < 5; round++) {
        await control({ type: "control.limits", data: { limits: { ...LIMITS, max_order_quantity: 1 } } });
        expect(await judge(signal(5))).toBe("MAX_QUANTITY");
        await control({ type: "control.limits", data: { limits: { ...LIMITS, max_order_quantity: 10 } } });
        expect(await judge(signal(5))).toBe("VALIDATED");
      }
    });

    test("given a strategy disabled or changed after its signal was generated, risk refuses it; an API order (no strategy_offset) is not asked", async () => {
      const id = `ctl_${Date.now().toString(36)}_${seq++}`;
      const def: StrategyDef = { id, kind: "momentum", params: { lookback: 2, threshold_bps: 10, quantity: 1 }, instruments: [RELIANCE], brokers: ["paper"], enabled: true };
      const v1 = await nextOffset();
      await control({ type: "control.strategy", data: def });
      expect(await judge(signal(1, { strategy_id: id, strategy_offset: v1 }))).toBe("VALIDATED");
      const v2 = await nextOffset();
      await control({ type: "control.strategy", data: { ...def, params: { ...def.params, lookback: 3 } } });
      expect(await judge(signal(1, { strategy_id: id, strategy_offset: v1 }))).toBe("STRATEGY_CHANGED");
      expect(await judge(signal(1, { strategy_id: id, strategy_offset: v2 }))).toBe("VALIDATED");
      await control({ type: "control.strategy", data: { ...def, enabled: false } });
      expect(await judge(signal(1, { strategy_id: id, strategy_offset: v2 }))).toBe("STRATEGY_DISABLED");
      expect(await judge(signal(1, { strategy_id: id }))).toBe("VALIDATED");
      const ghost = `ghost_${seq++}`;
      expect(await judge(signal(1, { strategy_id: ghost, strategy_offset: v2 }))).toBe("STRATEGY_DISABLED");
    });

    test("the strategy stage stamps each signal with its definition's offset, and risk refuses them once it is disabled", async () => {
      const id = `ctl_s_${Date.now().toString(36)}_${seq++}`;
      const def: StrategyDef = { id, kind: "momentum", params: { lookback: 2, threshold_bps: 10, quantity: 1 }, instruments: [424961], brokers: ["paper"], enabled: true };
      const at = await nextOffset();
      await control({ type: "control.strategy", data: def });
      // Built after the command: it applies what the topic holds before it is returned.
      const strategy = await strategyStage({ ...ctxs[0]!, cache: new MemoryCache() });
      const out: Outgoing[] = [];
      for (const p of [47_615, 47_620, 48_100]) out.push(...(await strategy.handle(tick(p, 424961), { topic: "market.ticks" } as LogMessage, quiet)));
      const mine = out.filter((o) => (o.event as Envelope<"signal.generated">).data.strategy_id === id);
      expect(mine.length).toBeGreaterThan(0);
      for (const o of mine) expect((o.event as Envelope<"signal.generated">).data.strategy_offset).toBe(at);
      // Risk judges it under the same definition.
      await risk.handle(tick(48_100, 424961), { topic: "market.ticks" } as LogMessage, quiet);
      expect(await judge(mine[0]!.event as AnyEnvelope)).toBe("VALIDATED");
      await control({ type: "control.strategy", data: { ...def, enabled: false } });
      expect(await judge(mine[0]!.event as AnyEnvelope)).toBe("STRATEGY_DISABLED");
    });

    test("a daily-loss breach is written as a REDUCING command, an output of the next event, with the intraday square-off, and every reader applies it", async () => {
      // Risk's own fold: a fill of 1,000 at ₹1,300, then the price falls to ₹1,240: ₹60,000 lost,
      // beyond the day's limit (₹50,000 by default).
      const fill = createEvent({
        type: "order.filled",
        source: "test",
        broker: "paper",
        key: String(RELIANCE),
        data: { order_id: "loss-1", signal_id: "loss-1", strategy_id: "manual", instrument_token: RELIANCE, side: "BUY", quantity: 1_000, order_type: "MARKET", fill_id: "loss-1/1", fill_quantity: 1_000, fill_price: 130_000, filled_quantity: 1_000, fees: 0, status: "FILLED" },
      }) as AnyEnvelope;
      await risk.onBatch!(noConsumer);
      expect(await risk.handle(fill, { topic: topicName("ordersFilled", "paper"), partition: 0, offset: 0 } as LogMessage, quiet)).toEqual([]);
      const out = await risk.handle(tick(124_000), { topic: "market.ticks" } as LogMessage, quiet);
      // The command; the open MIS orders of each instrument traded today cancelled (424961 had an
      // order in an earlier test); the intraday position flattened.
      expect(out.map((o) => [o.topic, o.event.type, (o.event.data as { instrument_token?: number }).instrument_token])).toEqual([
        [CONTROL, "control.trading_state", undefined],
        [topicName("orderCommands", "paper"), "order.cancel_open", 424961],
        [topicName("orderCommands", "paper"), "order.cancel_open", RELIANCE],
        [topicName("signalsValidated", "paper"), "signal.validated", RELIANCE],
      ]);
      const command = out[0]!.event.data as { state: string; reason: string };
      expect([command.state, command.reason.split(":")[0]]).toEqual(["REDUCING", "DAILY_LOSS_BREACHED"]);
      expect(out[3]!.event.data).toMatchObject({ strategy_id: "manual", side: "SELL", quantity: 1_000, order_type: "MARKET", reduce_only: true });
      // The command sent as the processor sends a batch's outputs (only it: the suite's Kafka
      // topics are shared, and no test's square-off may reach a running execution stage).
      const commands = out.filter((o) => o.topic === CONTROL);
      await producer.send(commands.map((o) => ({ topic: o.topic, key: o.event.key, value: JSON.stringify(o.event) })));
      const reader = new ControlReader(log, ["paper"], { name: "test" });
      await reader.start();
      await reader.caughtUp();
      expect(reader.state("paper").trading.state).toBe("REDUCING");
      await reader.close();
      expect(await judge(signal(1))).toBe("REDUCE_ONLY");
      // Written once: the next event has nothing more to write.
      expect(await risk.handle(tick(123_900), { topic: "market.ticks" } as LogMessage, quiet)).toEqual([]);
    });
  });
}

suite("in-process log", async () => new MemoryLog());
// Kafka's suite is left out only when Kafka does not answer and REQUIRE_INFRA is unset: with
// REQUIRE_INFRA=1 (test:all, CI) `needs` fails a test instead.
if (await needs("kafka")) suite("Kafka", async () => new KafkaLog({ brokers: infra.kafkaBrokers.split(","), clientId: "risk-controls" }));
