/**
 * The OpenAlgo publisher as its worker runs it (src/stage/stages.ts, `stageProcessor`), on the
 * in-process log: an order event published once even when the log delivers it twice (dedup by its
 * id), a second publisher process (a restart that lost the dedup) publishing the very same bytes,
 * and a send that fails leaving the batch uncommitted, published after it is retried.
 */
import { expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { utf8, type Log, type LogMessage, type Producer } from "../../src/log/port.ts";
import { AlphaError } from "../../src/errors.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { cacheDedup } from "../../src/stage/dedup.ts";
import { stageProcessor } from "../../src/stage/runtime.ts";
import { STAGES } from "../../src/stage/stages.ts";
import { openAlgoTopicSpecs } from "../../src/openalgo-events/topics.ts";
import { topicSpecs } from "../../src/topics.ts";

const quiet = pino({ level: "silent" });
const TARGET = "from_alpha_panda_order_events";
const SBIN = NSE_MASTER.bySymbol("NSE", "SBIN")!.instrument_token;
const def = STAGES.portfolio.companions!["openalgo-events"]!;

async function setup(log: Log, producer: Producer = log.producer()) {
  const cache = new MemoryCache();
  const config = loadConfig({ ACTIVE_BROKERS: "paper", OPENALGO_EVENTS_TOPIC: TARGET, OPENALGO_USER_ID: "user123" });
  const ctx: StageContext = { config, logger: quiet, log, producer, db: { query: async () => [] }, cache, instruments: NSE_MASTER, close: async () => {} };
  const stage = await def.build(ctx);
  return stageProcessor("openalgo-events", def, stage, ctx, { dedup: cacheDedup(cache, "openalgo-events"), logger: quiet });
}

async function read(log: Log, topic: string, atLeast: number): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const c = log.consumer({ groupId: `reader.${Math.random()}`, topics: [topic], startFrom: "earliest" });
  await c.run(async (b) => void got.push(...b));
  const until = Date.now() + 5_000;
  while (got.length < atLeast && Date.now() < until) await Bun.sleep(10);
  await Bun.sleep(100);
  await c.close();
  return got;
}

const submitted = createEvent({ type: "order.submitted", source: "execution", broker: "paper", key: String(SBIN), data: { order_id: "o1", signal_id: "o1", strategy_id: "manual", instrument_token: SBIN, side: "BUY", quantity: 2, order_type: "MARKET" } });

test("an event delivered twice is published once; a publisher that lost its dedup publishes the same bytes", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics([...topicSpecs(["paper"]), ...openAlgoTopicSpecs({ eventsTopic: TARGET, userId: "user123" })]);
  const producer = log.producer();
  const copy = { topic: "paper.orders.submitted", key: submitted.key, value: encodeEnvelope(submitted) };
  await producer.send([copy, copy]);
  const first = await setup(log);
  await first.start();
  const once = await read(log, TARGET, 2);
  await first.close();
  // order_event and analyzer_update (paper), once: the second copy was a duplicate.
  expect(once.map((m) => JSON.parse(utf8.decode(m.value)).event_type)).toEqual(["order_event", "analyzer_update"]);
  expect(first.stats.duplicates).toBe(1);
  expect(new Set(once.map((m) => m.key))).toEqual(new Set(["user123"]));

  // A fresh group and dedup (a lost cache) read it again: the same messages, byte for byte.
  const log2 = new MemoryLog(new MemoryBroker());
  await log2.createTopics([...topicSpecs(["paper"]), ...openAlgoTopicSpecs({ eventsTopic: TARGET, userId: "user123" })]);
  await log2.producer().send([copy]);
  const second = await setup(log2);
  await second.start();
  const replayed = await read(log2, TARGET, 2);
  await second.close();
  expect(replayed.map((m) => utf8.decode(m.value))).toEqual(once.map((m) => utf8.decode(m.value)));
});

test("a send that fails is retried; its messages go out once, not once per try", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics([...topicSpecs(["paper"]), ...openAlgoTopicSpecs({ eventsTopic: TARGET, userId: "user123" })]);
  await log.producer().send([{ topic: "paper.orders.submitted", key: submitted.key, value: encodeEnvelope(submitted) }]);
  const real = log.producer();
  let failures = 2;
  const flaky: Producer = {
    send: (messages) => (failures-- > 0 ? Promise.reject(new AlphaError("LOG_UNAVAILABLE", "the log is down", { canRetry: true })) : real.send(messages)),
    close: () => real.close(),
  };
  const p = await setup(log, flaky);
  await p.start();
  const got = await read(log, TARGET, 2);
  await p.close();
  expect(failures).toBeLessThan(0);
  expect(got.map((m) => JSON.parse(utf8.decode(m.value)).event_type)).toEqual(["order_event", "analyzer_update"]);
});
