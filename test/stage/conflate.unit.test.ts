/**
 * Conflation in the stream processor: on an input a stage declares conflatable, a tick followed by
 * a later one of the same key (with nothing of another input between them) is skipped, and the
 * stage's `mayConflate` is asked at that point of the batch. Then the execution stage, which conflates
 * only where no order rests: a resting limit order still sees every tick of its instrument.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, decodeEnvelope, encodeEnvelope, type AnyEnvelope } from "../../src/events/envelope.ts";
import { AlphaError } from "../../src/errors.ts";
import { RemoteLog, serveLog } from "../../src/log/bridge/index.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import { dropSuperseded } from "../../src/stage/conflation.ts";
import type { LogMessage, OutgoingMessage, Producer } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { StreamProcessor, type Handle } from "../../src/stage/processor.ts";
import { type Dedup } from "../../src/stage/dedup.ts";
import type { Conflation } from "../../src/stage/conflation.ts";
import { executionStage } from "../../src/stage/stages/execution.ts";

const quiet = pino({ level: "silent" });
const TICKS = "market.ticks";
const OTHER = "paper.signals.validated";
const RELIANCE = 738561;
const TCS = 2953217;

let offset = 0;
function message(topic: string, e: AnyEnvelope | Uint8Array, key?: string): LogMessage {
  const value = e instanceof Uint8Array ? e : Buffer.from(encodeEnvelope(e));
  return { topic, partition: 0, offset: offset++, key: key ?? (e instanceof Uint8Array ? "" : e.key), value, headers: {}, timestamp: Date.now() };
}

const tick = (token: number, price: number) =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } }) as AnyEnvelope;

function limitBuy(token: number, price: number, id: string) {
  const data = { signal_id: id, strategy_id: "s1", instrument_token: token, side: "BUY" as const, quantity: 1, order_type: "LIMIT" as const, price, checks: [] };
  return createEvent({ type: "signal.validated", source: "risk", broker: "paper", key: String(token), data }) as AnyEnvelope;
}

/** Sends go to `sent`; dedup remembers nothing (every input here is new). */
function harness(handle: Handle, conflation: Conflation | undefined, idempotent = [TICKS]) {
  const sent: OutgoingMessage[] = [];
  const producer = { send: async (m: OutgoingMessage[]) => void sent.push(...m), close: async () => {} } as unknown as Producer;
  const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async () => {} };
  const processor = new StreamProcessor({ stage: "test", groupId: "g", topics: [TICKS, OTHER], log: new MemoryLog(), producer, dedup, handle, logger: quiet, idempotentTopics: idempotent, conflation, backoffMs: 1 });
  return { processor, sent };
}

/** A handler that records what it was given: "token@price" for ticks, the type otherwise. */
function recorder() {
  const seen: string[] = [];
  const handle: Handle = (e) => {
    seen.push(e.type === "market.tick" ? `${e.data.instrument_token}@${e.data.last_price}` : e.type);
    return [];
  };
  return { seen, handle };
}

describe("stream processor: conflation", () => {
  test("in a run of ticks, only each instrument's last one is handled; the others count as handled and conflated", async () => {
    const { seen, handle } = recorder();
    const { processor } = harness(handle, { topics: [TICKS] });
    await processor.processBatch([tick(1, 100), tick(2, 200), tick(1, 101), tick(1, 102), tick(2, 201), tick(3, 300)].map((e) => message(TICKS, e)));
    expect(seen).toEqual(["1@102", "2@201", "3@300"]);
    expect(processor.stats.handled).toBe(6);
    expect(processor.stats.conflated).toBe(3);
    expect(processor.stats.handledByTopic).toEqual({ [TICKS]: 6 });
  });

  test("a message of another input ends a run: it sees the prices it would have seen without conflation", async () => {
    const { seen, handle } = recorder();
    const { processor } = harness(handle, { topics: [TICKS] });
    await processor.processBatch([message(TICKS, tick(1, 100)), message(TICKS, tick(1, 101)), message(OTHER, limitBuy(1, 100, "o1")), message(TICKS, tick(1, 102)), message(TICKS, tick(1, 103))]);
    expect(seen).toEqual(["1@101", "signal.validated", "1@103"]);
    expect(processor.stats.conflated).toBe(2);
  });

  test("`mayConflate` is asked when the batch reaches the tick, with the state the earlier ticks left", async () => {
    const resting = new Set(["1"]);
    const seen: string[] = [];
    // A tick at 13 fills instrument 1's resting order: from then on its ticks may be skipped.
    const handle: Handle = (e) => {
      if (e.type === "market.tick") {
        seen.push(`${e.data.instrument_token}@${e.data.last_price}`);
        if (e.data.last_price === 13) resting.delete(String(e.data.instrument_token));
      }
      return [];
    };
    const { processor } = harness(handle, { topics: [TICKS], mayConflate: (key) => !resting.has(key) });
    await processor.processBatch([tick(1, 10), tick(1, 13), tick(1, 11), tick(1, 12)].map((e) => message(TICKS, e)));
    expect(seen).toEqual(["1@10", "1@13", "1@12"]);
    expect(processor.stats.conflated).toBe(1);
  });

  test("without conflation every tick is handled", async () => {
    const { seen, handle } = recorder();
    const { processor } = harness(handle, undefined);
    await processor.processBatch([tick(1, 100), tick(1, 101)].map((e) => message(TICKS, e)));
    expect(seen).toEqual(["1@100", "1@101"]);
    expect(processor.stats.conflated).toBe(0);
  });

  test("keyless messages are never conflated, and an undecodable one still goes to the DLQ", async () => {
    const { seen, handle } = recorder();
    const { processor, sent } = harness(handle, { topics: [TICKS] });
    const garbage = new Uint8Array([123, 0, 255]);
    await processor.processBatch([message(TICKS, tick(1, 100), ""), message(TICKS, tick(1, 101), ""), message(TICKS, garbage)]);
    expect(seen).toEqual(["1@100", "1@101"]);
    expect(sent.map((m) => m.topic)).toEqual([`${TICKS}.dlq`]);
    expect(processor.stats.deadLettered).toBe(1);
  });

  test("what the worker's bridge already left out counts as handled and conflated", async () => {
    const { seen, handle } = recorder();
    const { processor } = harness(handle, { topics: [TICKS] });
    await processor.processBatch([tick(1, 102), tick(2, 201)].map((e) => message(TICKS, e)));
    processor.countConflated({ [TICKS]: 5 });
    expect(seen).toEqual(["1@102", "2@201"]);
    expect(processor.stats).toMatchObject({ handled: 7, conflated: 5, handledByTopic: { [TICKS]: 7 } });
  });

  test("the worker's bridge is asked to conflate for a stage without `mayConflate`, or whose `mayConflate` comes with the keys it refuses", async () => {
    const asked: unknown[] = [];
    const served = new MemoryLog();
    await served.createTopics([TICKS, OTHER].map((name) => ({ name, partitions: 1, retentionMs: -1 })));
    const { port1, port2 } = new MessageChannel();
    const stop = serveLog(served, port1, { thin: dropSuperseded });
    const log = new RemoteLog(port2);
    const consumer = log.consumer.bind(log);
    log.consumer = (o, thinning) => (asked.push([thinning?.topics, thinning?.keptKeys && [...thinning.keptKeys()]]), consumer(o, thinning));
    const { handle } = recorder();
    const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async () => {} };
    const producer = log.producer();
    for (const conflation of [{ topics: [TICKS] }, { topics: [TICKS], mayConflate: () => true }, { topics: [TICKS], mayConflate: (k: string) => k !== "7", keysNotConflated: () => ["7"] }, undefined]) {
      const p = new StreamProcessor({ stage: "test", groupId: "g", topics: [TICKS, OTHER], log, producer, dedup, handle, logger: quiet, idempotentTopics: [TICKS], conflation });
      await p.start();
      await p.close();
    }
    expect(asked).toEqual([[[TICKS], undefined], [undefined, undefined], [[TICKS], ["7"]], [undefined, undefined]]);
    await log.close();
    await stop();
    port1.close();
    port2.close();
  });

  test("a conflated input must be idempotent too (a skipped message is never marked seen)", () => {
    const { handle } = recorder();
    expect(() => harness(handle, { topics: [TICKS] }, [])).toThrow(/must be idempotent/);
  });

  test("a handler that answers with a promise, and one that rejects transiently, work as before", async () => {
    let failures = 2;
    const seen: number[] = [];
    const handle: Handle = async (e) => {
      if (failures-- > 0) throw new AlphaError("CACHE_UNAVAILABLE", "redis blinked", { canRetry: true });
      if (e.type === "market.tick") seen.push(e.data.last_price);
      return [];
    };
    const { processor } = harness(handle, { topics: [TICKS] });
    await processor.processBatch([message(TICKS, tick(1, 100))]);
    expect(seen).toEqual([100]);
    expect(failures).toBe(-1);
  });
});

/** A store with no resting orders saved that keeps none: what is tested here is conflation. */
const noBooks: StageContext["db"] = { query: async () => [] };

describe("execution stage: conflation only where no order rests", () => {
  async function stage() {
    const log = new MemoryLog();
    const ctx: StageContext = { config: loadConfig({}), logger: quiet, log, producer: log.producer(), db: noBooks, cache: new MemoryCache(), instruments: NSE_MASTER, close: async () => {} };
    const s = await executionStage(ctx);
    const { processor, sent } = harness(s.handle, s.conflation, s.idempotentTopics);
    return { processor, sent, s };
  }

  test("a resting limit order is filled by a tick that a later tick of the same batch would have superseded", async () => {
    const { processor, sent } = await stage();
    await processor.processBatch([message(TICKS, tick(RELIANCE, 100_500)), message(OTHER, limitBuy(RELIANCE, 100_000, "o1"))]);
    expect(sent.map((m) => decodeEnvelope(m.value).type)).toEqual(["order.submitted"]);
    // 999.00 crosses the limit; 1,004.00 after it, in the same run, does not.
    await processor.processBatch([tick(TCS, 400_000), tick(RELIANCE, 100_400), tick(TCS, 400_100), tick(RELIANCE, 99_900), tick(RELIANCE, 100_400), tick(TCS, 400_200)].map((e) => message(TICKS, e)));
    const fills = sent.map((m) => decodeEnvelope(m.value)).filter((e) => e.type === "order.filled");
    expect(fills.length).toBe(1);
    expect(fills[0]!.data).toMatchObject({ order_id: "o1", status: "FILLED", fill_quantity: 1 });
    expect((fills[0]!.data as { fill_price: number }).fill_price).toBeLessThanOrEqual(100_000);
    // TCS has no order: its first two ticks were skipped; RELIANCE's were all handled until the
    // fill, then its last one stood alone (nothing after it to supersede it).
    expect(processor.stats.conflated).toBe(2);
  });

  test("its `keysNotConflated` names exactly the instruments `mayConflate` refuses: those where an order rests", async () => {
    const { processor, s } = await stage();
    const agree = (tokens: number[]) => {
      const except = new Set(s.conflation!.keysNotConflated!());
      return tokens.map((t) => [t, s.conflation!.mayConflate!(String(t)), except.has(String(t))]);
    };
    expect(agree([RELIANCE, TCS])).toEqual([[RELIANCE, true, false], [TCS, true, false]]);
    await processor.processBatch([message(TICKS, tick(RELIANCE, 100_500)), message(OTHER, limitBuy(RELIANCE, 100_000, "o3"))]);
    expect(agree([RELIANCE, TCS])).toEqual([[RELIANCE, false, true], [TCS, true, false]]);
    await processor.processBatch([message(TICKS, tick(RELIANCE, 99_900))]); // fills it
    expect(agree([RELIANCE, TCS])).toEqual([[RELIANCE, true, false], [TCS, true, false]]);
  });

  test("had it conflated RELIANCE too, the fill would have been missed", async () => {
    const { s } = await stage();
    const { processor, sent } = harness(s.handle, { topics: [TICKS] }, s.idempotentTopics);
    await processor.processBatch([message(TICKS, tick(RELIANCE, 100_500)), message(OTHER, limitBuy(RELIANCE, 100_000, "o2"))]);
    await processor.processBatch([tick(RELIANCE, 100_400), tick(RELIANCE, 99_900), tick(RELIANCE, 100_400)].map((e) => message(TICKS, e)));
    expect(sent.map((m) => decodeEnvelope(m.value).type)).toEqual(["order.submitted"]);
  });
});
