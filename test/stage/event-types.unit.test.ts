/**
 * Each topic carries the event types the topic table declares, and each stage handles every type
 * its inputs carry: an envelope of another type is poison, sent to `<topic>.dlq` with its bytes
 * and the reason, and counted; never ignored. Every stage as its worker builds it (src/stage/stages.ts,
 * `stageProcessor`), over the in-process log, with a database that has no rows.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import type { EventType } from "../../src/events/payloads.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { Log, LogMessage } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { StreamProcessor } from "../../src/stage/processor.ts";
import { cacheDedup } from "../../src/stage/dedup.ts";
import { stageProcessor } from "../../src/stage/runtime.ts";
import { STAGES, type StageDef } from "../../src/stage/stages.ts";
import type { Db } from "../../src/store/db.ts";
import { eventTypesOf, topicSpecs } from "../../src/topics.ts";

const quiet = pino({ level: "silent" });
const RELIANCE = 738561;

/** Every stage and companion, by the name its processor runs under. */
const ALL: Array<[string, StageDef]> = Object.entries(STAGES).flatMap(([name, def]) => [[name, def] as [string, StageDef], ...Object.entries(def.companions ?? {})]);

const tick = (price: number): AnyEnvelope =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(RELIANCE), data: { instrument_token: RELIANCE, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } });

const validated = (): AnyEnvelope =>
  createEvent({
    type: "signal.validated",
    source: "test",
    broker: "paper",
    key: String(RELIANCE),
    data: { signal_id: "sig-1", strategy_id: "s1", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "MARKET", checks: [] },
  });

/** An envelope its topic does not carry: a signal on market.ticks, a tick anywhere else. */
const stranger = (topic: string): AnyEnvelope => (eventTypesOf(topic)!.has("market.tick") ? validated() : tick(129_045));

function context(log: Log): StageContext {
  const db: Db = { query: async () => [] };
  // The OpenAlgo publisher is built only when its topic is set.
  return { config: loadConfig({ ACTIVE_BROKERS: "paper", OPENALGO_EVENTS_TOPIC: "from_alpha_panda_order_events" }), logger: quiet, log, producer: log.producer(), db, cache: new MemoryCache(), instruments: NSE_MASTER, close: async () => {} };
}

async function drain(log: Log, topic: string, count: number): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const c = log.consumer({ groupId: `reader.${topic}`, topics: [topic] });
  await c.run(async (b) => void got.push(...b));
  const until = Date.now() + 5_000;
  while (got.length < count && Date.now() < until) await Bun.sleep(10);
  await Bun.sleep(50);
  await c.close();
  return got;
}

describe("each stage handles every type its topics carry", () => {
  for (const [name, def] of ALL) {
    test(`${name}: its inputs are topics of the table, and it handles exactly the types they carry`, async () => {
      const log = new MemoryLog();
      // Risk and strategy read their controls from the control topics at build.
      await log.createTopics(topicSpecs(["paper"]));
      const stage = await def.build(context(log));
      const carried = new Set<EventType>();
      for (const topic of stage.topics) {
        const types = eventTypesOf(topic);
        expect(types, `${name} reads ${topic}, which the topic table does not declare`).toBeDefined();
        for (const t of types!) carried.add(t);
      }
      expect([...def.handles].sort()).toEqual([...carried].sort());
    });
  }
});

describe("an envelope of a type its topic does not carry goes to the DLQ with the reason", () => {
  for (const [name, def] of ALL) {
    test(`${name}`, async () => {
      const log = new MemoryLog(new MemoryBroker());
      await log.createTopics(topicSpecs(["paper"]));
      const ctx = context(log);
      const stage = await def.build(ctx);
      const processor = stageProcessor(name, def, stage, ctx, { dedup: cacheDedup(ctx.cache, name), logger: quiet });
      const producer = log.producer();
      const sent = new Map<string, AnyEnvelope>();
      for (const topic of stage.topics) {
        const e = stranger(topic);
        sent.set(topic, e);
        // On market.ticks a tick of the same instrument follows in the same batch: a stage that
        // conflates ticks must not take the stranger for a superseded tick.
        await producer.send([{ topic, key: e.key, value: encodeEnvelope(e), headers: { origin: "test" } }, ...(topic === "market.ticks" ? [{ topic, key: String(RELIANCE), value: encodeEnvelope(tick(129_050)) }] : [])]);
      }
      await processor.start();
      for (const [topic, e] of sent) {
        const [dead, ...more] = await drain(log, `${topic}.dlq`, 1);
        expect(more).toEqual([]);
        expect(new TextDecoder().decode(dead!.value)).toBe(encodeEnvelope(e));
        expect(dead!.headers["x-dlq-error"]).toBe(`${e.type} is not an event of ${topic}`);
        expect(dead!.headers["x-dlq-error-code"]).toBe("ENVELOPE_INVALID");
        expect(dead!.headers["x-dlq-stage"]).toBe(name);
        expect(dead!.headers["x-dlq-source-topic"]).toBe(topic);
        expect(dead!.headers.origin).toBe("test");
      }
      await processor.close();
      expect(processor.stats.deadLettered).toBe(stage.topics.length);
      // The tick that followed the stranger on market.ticks was handled (or conflated) as usual.
      if (stage.topics.includes("market.ticks")) expect(processor.stats.handledByTopic["market.ticks"]).toBe(1);
    });
  }

  test("the issue's two cases, by name: a signal.validated on market.ticks, a market.tick on paper.signals.validated", async () => {
    const log = new MemoryLog(new MemoryBroker());
    await log.createTopics(topicSpecs(["paper"]));
    const ctx = context(log);
    const stage = await STAGES.execution.build(ctx);
    const processor = stageProcessor("execution", STAGES.execution, stage, ctx, { dedup: cacheDedup(ctx.cache, "execution"), logger: quiet });
    const producer = log.producer();
    await producer.send([{ topic: "market.ticks", key: String(RELIANCE), value: encodeEnvelope(validated()) }]);
    await producer.send([{ topic: "paper.signals.validated", key: String(RELIANCE), value: encodeEnvelope(tick(129_045)) }]);
    await processor.start();
    const [a] = await drain(log, "market.ticks.dlq", 1);
    const [b] = await drain(log, "paper.signals.validated.dlq", 1);
    await processor.close();
    expect(a!.headers["x-dlq-error"]).toBe("signal.validated is not an event of market.ticks");
    expect(b!.headers["x-dlq-error"]).toBe("market.tick is not an event of paper.signals.validated");
    expect(processor.stats.deadLettered).toBe(2);
  });
});

test("a type the topic carries but the stage does not handle is dead-lettered too, naming the stage", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics(topicSpecs(["paper"]));
  const handled: string[] = [];
  const processor = new StreamProcessor({
    stage: "narrow",
    groupId: "narrow",
    topics: ["paper.orders.rejected"],
    log,
    producer: log.producer(),
    dedup: cacheDedup(new MemoryCache(), "narrow"),
    handle: (e) => {
      handled.push(e.type);
      return [];
    },
    handles: ["order.rejected"],
    logger: quiet,
  });
  const cancelRejected = createEvent({ type: "order.cancel_rejected", source: "test", broker: "paper", key: String(RELIANCE), data: { order_id: "o1", reason_code: "UNKNOWN_ORDER", message: "no such order" } });
  await log.producer().send([{ topic: "paper.orders.rejected", key: String(RELIANCE), value: encodeEnvelope(cancelRejected) }]);
  await processor.start();
  const [dead] = await drain(log, "paper.orders.rejected.dlq", 1);
  await processor.close();
  expect(dead!.headers["x-dlq-error"]).toBe("narrow does not handle order.cancel_rejected (from paper.orders.rejected)");
  expect(handled).toEqual([]);
  expect(processor.stats.deadLettered).toBe(1);
});
