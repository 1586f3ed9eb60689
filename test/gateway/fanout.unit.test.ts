/**
 * The gateway's pushes: ticks are consumed only while a tick watch is held; a listener that says
 * which channels it has subscribers for gets only those ticks (the rest are not even decoded); one
 * that does not say gets every channel.
 */
import { afterAll, expect, test } from "bun:test";
import pino from "pino";
import { createServices } from "../../gateway/services/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { publishTicks } from "../../src/market/feed.ts";
import type { Store } from "../../src/store/index.ts";
import { topicSpecs } from "../../src/topics.ts";

const log = new MemoryLog(new MemoryBroker());
afterAll(() => log.close());

test("ticks reach the listeners that want their channel", async () => {
  const config = loadConfig({ FEED: "none" });
  await log.createTopics(topicSpecs(config.activeBrokers));
  const services = createServices({
    config,
    log,
    producer: log.producer(),
    store: { sql: undefined } as unknown as Store,
    cache: new MemoryCache(),
    logger: pino({ level: "silent" }),
    instruments: NSE_MASTER,
    ticksLingerMs: 50,
  });
  await services.start();
  try {
    const tick = (token: number) => ({ instrument_token: token, last_price: 100_00, exchange_ts: "2026-12-02T09:15:00.000Z", feed: "api" });
    const waitFor = async (got: string[], n: number) => {
      const until = Date.now() + 5_000;
      while (got.length < n && Date.now() < until) await Bun.sleep(10);
    };
    // Only a listener that wants ticks.2: ticks 1 and 3 go to no one.
    const picky: string[] = [];
    services.events.subscribe((channel) => picky.push(channel), (channel) => channel === "ticks.2");
    // No tick watch yet: ticks are not consumed at all.
    await publishTicks(log.producer(), [tick(2)], "test");
    await Bun.sleep(200);
    expect(picky).toEqual([]);
    const release = await services.events.watchTicks();
    await publishTicks(log.producer(), [tick(1), tick(2), tick(3)], "test");
    await waitFor(picky, 1);
    await Bun.sleep(100);
    expect(picky).toEqual(["ticks.2"]);

    // A listener that does not say what it wants gets every channel (and so does every listener:
    // each filters what it is given, as the WebSocket hub does).
    const all: string[] = [];
    services.events.subscribe((channel) => all.push(channel));
    await publishTicks(log.producer(), [tick(1), tick(2), tick(3)], "test");
    await waitFor(all, 3);
    expect(all.sort()).toEqual(["ticks.1", "ticks.2", "ticks.3"]);

    // The last watch ends: after the linger, ticks are no longer consumed; a new watch resumes at
    // the end of market.ticks (what was published meanwhile is not replayed).
    release();
    release(); // twice is once
    await Bun.sleep(300);
    await publishTicks(log.producer(), [tick(2)], "test");
    await Bun.sleep(200);
    expect(all).toHaveLength(3);
    const again = await services.events.watchTicks();
    await publishTicks(log.producer(), [tick(3)], "test");
    await waitFor(all, 4);
    await Bun.sleep(100);
    expect(all.slice(3)).toEqual(["ticks.3"]);

    // The tick consumer fails (here a listener throws) while a watch is held: it comes back.
    let boom = true;
    const unsubscribe = services.events.subscribe(() => {
      if (boom) throw new Error("listener failed");
    });
    await publishTicks(log.producer(), [tick(1)], "test");
    await Bun.sleep(200);
    boom = false;
    const before = all.length;
    const until = Date.now() + 5_000;
    while (all.length === before && Date.now() < until) {
      await publishTicks(log.producer(), [tick(3)], "test");
      await Bun.sleep(100);
    }
    expect(all.length).toBeGreaterThan(before);
    unsubscribe();
    again();
  } finally {
    await services.close();
  }
});
