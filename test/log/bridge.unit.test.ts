import { expect, test } from "bun:test";
import { packBatch, RemoteLog, serveLog, unpackBatch } from "../../src/log/bridge/index.ts";
import { dropSuperseded } from "../../src/stage/conflation.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { logConformance } from "./conformance.ts";

// Only ticks conflate, known by their envelope's head (src/stage/conflation.ts): these tests' values
// wear one, with the short label the assertions read.
const tickish = (label: string) => `{"id":"${"0".repeat(36)}","type":"market.tick","label":"${label}"}`;
const label = (value: Uint8Array) => (JSON.parse(new TextDecoder().decode(value)) as { label: string }).label;

// The worker's view of the embedded log, over a MessageChannel: the same suite, the same results.
const broker = new MemoryBroker();
logConformance("in-process, across a MessageChannel", async () => {
  const { port1, port2 } = new MessageChannel();
  const stop = serveLog(new MemoryLog(broker), port1);
  const remote = new RemoteLog(port2);
  const close = remote.close.bind(remote);
  remote.close = async () => {
    await close();
    await stop();
    port1.close();
    port2.close();
  };
  return remote;
});

test("a Bun Worker produces to and consumes from the main thread's log", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics([{ name: "in", partitions: 2, retentionMs: -1 }, { name: "out", partitions: 2, retentionMs: -1 }]);
  const { port1, port2 } = new MessageChannel();
  const stop = serveLog(log, port1);
  const worker = new Worker(new URL("./fixtures/echo-worker.ts", import.meta.url).href);
  worker.postMessage({ log: port2 }, [port2]);
  const producer = log.producer();
  await producer.send(Array.from({ length: 50 }, (_, i) => ({ topic: "in", key: `k${i % 5}`, value: String(i) })));
  const got: string[] = [];
  const consumer = log.consumer({ groupId: "reader", topics: ["out"] });
  await consumer.run(async (batch) => void got.push(...batch.map((m) => new TextDecoder().decode(m.value))));
  const until = Date.now() + 10_000;
  while (got.length < 50 && Date.now() < until) await Bun.sleep(20);
  await consumer.close();
  worker.terminate();
  await stop();
  expect(got.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
});

test("a batch packed for the thread boundary unpacks to the same messages", () => {
  const enc = new TextEncoder();
  const batch: LogMessage[] = [
    { topic: "market.ticks", partition: 3, offset: 2 ** 40, key: "738561", value: enc.encode('{"a":1}'), headers: {}, timestamp: 1_764_000_000_123 },
    { topic: "paper.orders.filled", partition: 0, offset: 0, key: "ключ-🔑", value: new Uint8Array(0), headers: { "x-dlq-error": "bad", h: "ü" }, timestamp: 1 },
    { topic: "market.ticks", partition: 11, offset: 7, key: "", value: enc.encode("not json ✓"), headers: {}, timestamp: 2 },
  ];
  const packed = packBatch(batch);
  // It survives a structured clone with the values' buffer transferred, as it crosses a port.
  const copy = structuredClone(packed, { transfer: [packed.buf] });
  const back = unpackBatch(copy);
  expect(back.map((m) => ({ ...m, value: [...m.value] }))).toEqual(batch.map((m) => ({ ...m, value: [...m.value] })));
  expect(unpackBatch(packBatch([]))).toEqual([]);
});

/** A one-partition topic in a main-thread log, and a worker's view of it over a MessageChannel. */
async function bridged(topic: string) {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics([{ name: topic, partitions: 1, retentionMs: -1 }]);
  const { port1, port2 } = new MessageChannel();
  const stop = serveLog(log, port1, { thin: dropSuperseded });
  const remote = new RemoteLog(port2);
  const close = async () => {
    await remote.close();
    await stop();
    port1.close();
    port2.close();
  };
  return { remote, producer: log.producer(), close };
}

test("a consumer that asks to conflate gets each key's last message of a run; the rest is counted, committed and never crosses", async () => {
  const { remote, producer, close } = await bridged("ticks");
  await producer.send(["a:1", "a:2", "b:1", "a:3", "c:1", "b:2"].map((v) => ({ topic: "ticks", key: v.split(":")[0]!, value: tickish(v) })));
  const got: string[] = [];
  const skipped: Array<Readonly<Record<string, number>> | undefined> = [];
  const read = async (into: string[]) => {
    const consumer = remote.consumer({ groupId: "g", topics: ["ticks"] }, { topics: ["ticks"], leftOut: (s) => skipped.push(s) });
    await consumer.run(async (batch) => {
      into.push(...batch.map((m) => `${label(m.value)}@${m.offset}`));
    });
    return consumer;
  };
  const consumer = await read(got);
  const until = Date.now() + 5_000;
  while (got.length < 3 && Date.now() < until) await Bun.sleep(10);
  await consumer.close();
  expect(got).toEqual(["a:3@3", "c:1@4", "b:2@5"]);
  expect(skipped).toEqual([{ ticks: 3 }]);
  // The skipped offsets were committed with the batch: the group resumes after all six.
  await producer.send([{ topic: "ticks", key: "a", value: tickish("a:4") }]);
  const again: string[] = [];
  const next = await read(again);
  while (again.length < 1 && Date.now() < until) await Bun.sleep(10);
  await next.close();
  expect(again).toEqual(["a:4@6"]);
  await close();
});

test("a consumer that conflates except some keys: nothing is left out until it has said which; those keys keep every message", async () => {
  const { remote, producer, close } = await bridged("ticks");
  const got: string[][] = [];
  const skipped: Array<Readonly<Record<string, number>> | undefined> = [];
  let except = ["a"];
  const consumer = remote.consumer({ groupId: "g", topics: ["ticks"] }, { topics: ["ticks"], keptKeys: () => except, leftOut: (s) => skipped.push(s) });
  await consumer.run(async (batch) => {
    got.push(batch.map((m) => label(m.value)));
  });
  const send = async (vs: string[]) => {
    const want = got.length + 1;
    await producer.send(vs.map((v) => ({ topic: "ticks", key: v.split(":")[0]!, value: tickish(v) })));
    const until = Date.now() + 2_000;
    while (got.length < want && Date.now() < until) await Bun.sleep(5);
  };
  // The worker has not said yet: every message crosses.
  await send(["a:1", "a:2", "b:1", "b:2"]);
  // "a" is excepted (the first batch's ack said so): all its ticks cross; b's superseded one does not.
  await send(["a:3", "a:4", "b:3", "b:4"]);
  // The worker's state changes while it waits: the next batch goes by what it said after the
  // last one ("a"), and the one after by what it says after this one ("b").
  except = ["b"];
  await send(["a:5", "a:6", "b:5", "b:6"]);
  await send(["a:7", "a:8", "b:7", "b:8"]);
  await consumer.close();
  expect(got).toEqual([["a:1", "a:2", "b:1", "b:2"], ["a:3", "a:4", "b:4"], ["a:5", "a:6", "b:6"], ["a:8", "b:7", "b:8"]]);
  expect(skipped).toEqual([undefined, { ticks: 1 }, { ticks: 1 }, { ticks: 1 }]);
  await close();
});

test("conflating except some keys: after a message of another topic the batch keeps everything, for it may change what is excepted", () => {
  const m = (topic: string, key: string, offset: number): LogMessage => ({ topic, partition: 0, offset, key, value: new TextEncoder().encode(tickish(`${key}:${offset}`)), headers: {}, timestamp: 0 });
  const batch = [m("ticks", "a", 0), m("ticks", "a", 1), m("ticks", "b", 2), m("ticks", "b", 3), m("orders", "a", 4), m("ticks", "a", 5), m("ticks", "a", 6)];
  const offsets = (r: ReturnType<typeof dropSuperseded>) => [r.batch.map((x) => x.offset), r.leftOut];
  expect(offsets(dropSuperseded(batch, new Set(["ticks"])))).toEqual([[1, 3, 4, 6], { ticks: 3 }]);
  expect(offsets(dropSuperseded(batch, new Set(["ticks"]), new Set(["b"])))).toEqual([[1, 2, 3, 4, 5, 6], { ticks: 1 }]);
  expect(offsets(dropSuperseded(batch, new Set(["ticks"]), new Set(["a", "b"])))).toEqual([[0, 1, 2, 3, 4, 5, 6], undefined]);
});

test("on a conflatable topic only ticks conflate: another event type (or encoding) is never left out, and ends the run like a message of another topic", () => {
  const enc = new TextEncoder();
  const m = (key: string, offset: number, value: string): LogMessage => ({ topic: "market.ticks", partition: 0, offset, key, value: enc.encode(value), headers: {}, timestamp: 0 });
  const signal = `{"id":"${"0".repeat(36)}","type":"signal.validated","data":{}}`;
  const batch = [m("a", 0, tickish("a0")), m("a", 1, signal), m("a", 2, tickish("a2")), m("a", 3, '{"type":"market.tick","id":"x"}'), m("a", 4, tickish("a4")), m("a", 5, tickish("a5"))];
  const r = dropSuperseded(batch, new Set(["market.ticks"]));
  // The signal and the tick in another encoding cross (to be dead-lettered); around them, only a
  // tick followed by a tick of the same key in the same run is left out.
  expect(r.batch.map((x) => x.offset)).toEqual([0, 1, 2, 3, 5]);
  expect(r.leftOut).toEqual({ "market.ticks": 1 });
});

test("in each batch, the worker's assignments() are those the batch was fetched under, before and after a rebalance", async () => {
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics([{ name: "t", partitions: 4, retentionMs: -1 }]);
  const { port1, port2 } = new MessageChannel();
  const stop = serveLog(log, port1);
  const remote = new RemoteLog(port2);
  const consumer = remote.consumer({ groupId: "g", topics: ["t"] });
  const seen: Array<{ owned: number[]; partitions: number[] }> = [];
  await consumer.run(async (batch) => {
    seen.push({ owned: consumer.assignments().map((a) => a.partition), partitions: [...new Set(batch.map((m) => m.partition))] });
  });
  const producer = log.producer();
  const send = (from: number) => producer.send(Array.from({ length: 40 }, (_, i) => ({ topic: "t", key: `k${from + i}`, value: String(from + i) })));
  const settle = async (n: number) => {
    const until = Date.now() + 5_000;
    while (seen.reduce((k, s) => k + s.partitions.length, 0) < n && Date.now() < until) await Bun.sleep(10);
  };
  await send(0);
  await settle(4);
  // A second member takes half the partitions; the worker's next batches come from its half only.
  const other = log.consumer({ groupId: "g", topics: ["t"] });
  await other.run(async () => {});
  for (let i = 0; i < 5; i++) {
    await send(100 * (i + 1));
    await Bun.sleep(20);
  }
  await Bun.sleep(200);
  await other.close();
  await consumer.close();
  await stop();
  expect(seen.some((s) => s.owned.length === 4)).toBe(true);
  expect(seen.some((s) => s.owned.length === 2)).toBe(true);
  for (const s of seen) for (const p of s.partitions) expect(s.owned).toContain(p);
});
