/**
 * The embedded mode's dedup (rememberingDedup): answers from the worker's own memory, writes
 * through to the cache, and a restarted worker finds what its predecessor marked.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import type { Cache } from "../../src/cache/port.ts";
import { childOf, createEvent, decodeEnvelope, encodeEnvelope, type Envelope } from "../../src/events/envelope.ts";
import { derivedId } from "../../src/events/ids.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { StreamProcessor } from "../../src/stage/processor.ts";
import { rememberingDedup } from "../../src/stage/dedup.ts";

/** A cache that counts the calls made to it, by method. */
function counted(cache: Cache): { cache: Cache; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(cache, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || typeof prop !== "string") return v;
      return (...args: unknown[]) => {
        calls[prop] = (calls[prop] ?? 0) + 1;
        return v.apply(target, args);
      };
    },
  });
  return { cache: proxy, calls };
}

describe("rememberingDedup", () => {
  test("a marked id is seen without asking the cache, and the mark is written to the cache", async () => {
    const { cache, calls } = counted(new MemoryCache());
    const dedup = await rememberingDedup(cache, "risk", 60_000);
    expect(await dedup.seen(["a", "b"])).toEqual([false, false]);
    await dedup.mark(["a"]);
    expect(await dedup.seen(["a", "b"])).toEqual([true, false]);
    expect(calls.mget ?? 0).toBe(0);
    expect(await cache.get("dedup:risk:a")).toBe("1");
    expect(await cache.get("dedup:risk:b")).toBeNull();
  });

  test("a restarted worker sees what was marked before it started, and only its own stage's ids", async () => {
    const cache = new MemoryCache();
    const before = await rememberingDedup(cache, "execution", 60_000);
    await before.mark(["x", "y"]);
    await (await rememberingDedup(cache, "risk", 60_000)).mark(["z"]);
    const after = await rememberingDedup(cache, "execution", 60_000);
    expect(await after.seen(["x", "y", "z", "w"])).toEqual([true, true, false, false]);
  });

  test("an id is forgotten after the TTL, here and in the cache", async () => {
    const cache = new MemoryCache();
    const dedup = await rememberingDedup(cache, "risk", 40);
    await dedup.mark(["old"]);
    await Bun.sleep(60);
    await dedup.mark(["new"]);
    expect(await dedup.seen(["old", "new"])).toEqual([false, true]);
    expect(await cache.get("dedup:risk:old")).toBeNull();
    const restarted = await rememberingDedup(cache, "risk", 40);
    expect(await restarted.seen(["old", "new"])).toEqual([false, true]);
  });

  test("in a stream processor: a repeated input is handled once, and after a restart too", async () => {
    const log = new MemoryLog(new MemoryBroker());
    await log.createTopics([
      { name: "in", partitions: 1, retentionMs: -1 },
      { name: "out", partitions: 1, retentionMs: -1 },
    ]);
    const producer = log.producer();
    const cache = new MemoryCache();
    const quiet = pino({ level: "silent" });
    const outputs: string[] = [];
    const reader = log.consumer({ groupId: "reader", topics: ["out"] });
    await reader.run(async (batch) => void outputs.push(...batch.map((m) => decodeEnvelope(m.value).id)));
    const start = async () => {
      const p = new StreamProcessor({
        stage: "risk",
        groupId: "risk",
        topics: ["in"],
        log,
        producer,
        dedup: await rememberingDedup(cache, "risk", 60_000),
        handle: (e) => [{ topic: "out", event: { ...childOf(e as Envelope, { type: "market.tick", source: "t", broker: "shared", key: e.key, data: e.data as Envelope<"market.tick">["data"] }), id: derivedId(e.id, "t") } }],
        logger: quiet,
      });
      await p.start();
      return p;
    };
    const tick = createEvent({ type: "market.tick", source: "test", broker: "shared", key: "1", data: { instrument_token: 1, last_price: 100, exchange_ts: new Date().toISOString(), feed: "test" } });
    const waitFor = async (f: () => boolean) => {
      for (let i = 0; i < 200 && !f(); i++) await Bun.sleep(10);
    };

    const first = await start();
    await producer.send([{ topic: "in", key: "1", value: encodeEnvelope(tick) }]);
    await producer.send([{ topic: "in", key: "1", value: encodeEnvelope(tick) }]);
    await waitFor(() => first.stats.handled + first.stats.duplicates === 2);
    await first.close();
    expect([first.stats.handled, first.stats.duplicates]).toEqual([1, 1]);

    // Sent again while no worker runs (a redelivery): the next one skips it.
    await producer.send([{ topic: "in", key: "1", value: encodeEnvelope(tick) }]);
    const second = await start();
    await waitFor(() => second.stats.duplicates === 1);
    await second.close();
    await Bun.sleep(50);
    await reader.close();
    expect(second.stats).toMatchObject({ handled: 0, duplicates: 1 });
    expect(outputs).toEqual([derivedId(tick.id, "t")]);
  });
});
