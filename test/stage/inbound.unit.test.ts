/**
 * Each stage's hop (StreamProcessor.inbound): for the events of the inputs it does not conflate,
 * the time from their append to the log (the message's timestamp) to the batch that brought them. Summed along
 * strategy → risk → execution → portfolio it shows where tick → fill time goes.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { createEvent, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage, Producer } from "../../src/log/port.ts";
import { AlphaError } from "../../src/errors.ts";
import { StreamProcessor, type Handle } from "../../src/stage/processor.ts";
import { type Dedup } from "../../src/stage/dedup.ts";
import type { Conflation } from "../../src/stage/conflation.ts";
import { INBOUND_SAMPLES } from "../../src/stage/latency.ts";

const quiet = pino({ level: "silent" });
const TICKS = "market.ticks";
const SIGNALS = "paper.signals.validated";

let offset = 0;
const message = (topic: string, e: AnyEnvelope): LogMessage => ({ topic, partition: 0, offset: offset++, key: e.key, value: Buffer.from(encodeEnvelope(e)), headers: {}, timestamp: Date.parse(e.ts) });

/** An event created, and appended to the log, `agoMs` before now. */
function aged<E extends AnyEnvelope>(e: E, agoMs: number): E {
  return { ...e, ts: new Date(Date.now() - agoMs).toISOString() };
}

const tick = (token: number, agoMs: number) =>
  aged(createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: 100, exchange_ts: new Date().toISOString(), feed: "test" } }) as AnyEnvelope, agoMs);

const signal = (id: string, agoMs: number) =>
  aged(
    createEvent({ type: "signal.validated", source: "risk", broker: "paper", key: "1", data: { signal_id: id, strategy_id: "s1", instrument_token: 1, side: "BUY", quantity: 1, order_type: "MARKET", checks: [] } }) as AnyEnvelope,
    agoMs,
  );

function processor(conflation?: Conflation, handle: Handle = () => []) {
  const producer = { send: async () => {}, close: async () => {} } as unknown as Producer;
  const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async () => {} };
  return new StreamProcessor({ stage: "test", groupId: "g", topics: [TICKS, SIGNALS], log: new MemoryLog(), producer, dedup, handle, logger: quiet, idempotentTopics: [TICKS], conflation, backoffMs: 1 });
}

describe("stream processor: the hop's latency", () => {
  test("an event's age when its batch starts is recorded; ticks a stage conflates are not", async () => {
    const p = processor({ topics: [TICKS] });
    await p.processBatch([message(TICKS, tick(1, 500)), message(SIGNALS, signal("a", 40)), message(SIGNALS, signal("b", 60)), message(TICKS, tick(2, 500))]);
    const l = p.inbound.rotate()!;
    expect(l.count).toBe(2);
    // Whole-ms creation times read high by under 1 ms; the batch started before the test's assertion.
    expect(l.max).toBeGreaterThanOrEqual(60);
    expect(l.max).toBeLessThan(200);
    expect(l.p50).toBeGreaterThanOrEqual(40);
    expect(l.p50).toBeLessThan(60);
  });

  test("a stage that conflates nothing (strategy) records its ticks", async () => {
    const p = processor();
    await p.processBatch([message(TICKS, tick(1, 20)), message(TICKS, tick(1, 30)), message(TICKS, tick(2, 25))]);
    const l = p.inbound.rotate()!;
    expect(l.count).toBe(3);
    expect(l.max).toBeGreaterThanOrEqual(30);
    expect(l.max).toBeLessThan(150);
  });

  test("a big batch records about INBOUND_SAMPLES of its events, and a signal among conflated ticks is always one", async () => {
    const p = processor();
    await p.processBatch(Array.from({ length: 10 * INBOUND_SAMPLES }, (_, i) => message(TICKS, tick(i + 1, 5))));
    expect(p.inbound.rotate()!.count).toBe(INBOUND_SAMPLES);
    expect(p.stats.handled).toBe(10 * INBOUND_SAMPLES);

    const c = processor({ topics: [TICKS] });
    const ticks = Array.from({ length: 2_000 }, (_, i) => message(TICKS, tick(1 + (i % 20), 5)));
    await c.processBatch([...ticks.slice(0, 1_337), message(SIGNALS, signal("s", 70)), ...ticks.slice(1_337)]);
    const l = c.inbound.rotate()!;
    expect(l.count).toBe(1);
    expect(l.max).toBeGreaterThanOrEqual(70);
  });

  test("a duplicate or an event that fails for good is not a hop", async () => {
    const p = processor(undefined, (e) => {
      if (e.type === "signal.validated" && e.data.signal_id === "bad") throw new AlphaError("INTERNAL", "a poison signal");
      return [];
    });
    const dup = signal("d", 10);
    await p.processBatch([message(SIGNALS, dup), message(SIGNALS, dup), message(SIGNALS, signal("bad", 10))]);
    expect(p.inbound.rotate()!.count).toBe(1);
    expect(p.stats.duplicates).toBe(1);
    expect(p.stats.deadLettered).toBe(1);
  });
});
