/**
 * The gateway's portfolio view over the cache is remade only when a position changed: the same
 * frozen view while the positions hash is the same, a new one as soon as a field changes. While
 * the read model is not whole (no `{broker}:positions:built` marker: not yet written, or the
 * cache lost it) the answer is a 503 READ_MODEL_REBUILDING, never an empty portfolio.
 */
import { afterAll, expect, test } from "bun:test";
import pino from "pino";
import { createServices } from "../../gateway/services/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { ApiError } from "../../gateway/api/errors.ts";
import { positionsBuiltKey, positionsKey } from "../../src/portfolio/read-model.ts";
import type { Store } from "../../src/store/index.ts";
import { topicSpecs } from "../../src/topics.ts";

const log = new MemoryLog(new MemoryBroker());
afterAll(() => log.close());

const position = (token: number, quantity: number, last_price: number) =>
  JSON.stringify({
    strategy_id: "manual",
    instrument_token: token,
    quantity,
    cost_basis: quantity * 100_00,
    average_price: 100_00,
    realised_pnl: 0,
    fees: 5,
    last_price,
    unrealised_pnl: quantity * last_price - quantity * 100_00,
    buy_quantity: quantity,
    buy_value: quantity * 100_00,
    sell_quantity: 0,
    sell_value: 0,
  });

test("the same frozen view while the positions are the same; a new one when one changes", async () => {
  const config = loadConfig({ FEED: "none", STARTING_CASH: "1000.00" });
  await log.createTopics(topicSpecs(config.activeBrokers));
  const cache = new MemoryCache();
  const services = createServices({ config, log, producer: log.producer(), store: { sql: undefined } as unknown as Store, cache, logger: pino({ level: "silent" }), instruments: NSE_MASTER });
  await cache.hset(positionsKey("paper"), { "manual:1": position(1, 2, 101_00), "manual:2": position(2, 1, 99_00) });
  await cache.set(positionsBuiltKey("paper"), new Date().toISOString());

  const first = await services.portfolios.get("paper");
  expect(Object.isFrozen(first)).toBe(true);
  expect(first).toMatchObject({ cash: 1000_00 - 300_00 - 10, unrealised_pnl: 2_00 - 1_00, fees: 10 });
  expect(await services.portfolios.get("paper")).toBe(first);

  await cache.hset(positionsKey("paper"), { "manual:2": position(2, 1, 98_00) });
  const second = await services.portfolios.get("paper");
  expect(second).not.toBe(first);
  expect(second.unrealised_pnl).toBe(2_00 - 2_00);
  expect(second.positions.find((p) => p.instrument_token === 2)?.last_price).toBe(98_00);

  await cache.hset(positionsKey("paper"), { "manual:3": position(3, 1, 100_00) });
  expect((await services.portfolios.get("paper")).positions).toHaveLength(3);
});

test("no marker, no portfolio: a 503 with Retry-After while the read model is rebuilt, whatever the hash holds", async () => {
  const config = loadConfig({ FEED: "none" });
  await log.createTopics(topicSpecs(config.activeBrokers));
  const cache = new MemoryCache();
  const services = createServices({ config, log, producer: log.producer(), store: { sql: undefined } as unknown as Store, cache, logger: pino({ level: "silent" }), instruments: NSE_MASTER });
  const refused = async () => {
    const err = await services.portfolios.get("paper").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: "READ_MODEL_REBUILDING", status: 503, headers: { "Retry-After": "1" } });
  };
  // Nothing written yet: the cache is empty, which is not the same as a portfolio with no positions.
  await refused();
  // Half written (one position a fill wrote after a flush): still not the portfolio.
  await cache.hset(positionsKey("paper"), { "manual:1": position(1, 2, 101_00) });
  await refused();
  await cache.set(positionsBuiltKey("paper"), new Date().toISOString());
  expect((await services.portfolios.get("paper")).positions).toHaveLength(1);
  // Flushed again.
  await cache.del(positionsBuiltKey("paper"));
  await refused();
});
