/**
 * The quote book the strategy stage keeps from the ticks: the day's open, high and low in India's
 * day, the previous day's last price as prev_close, bid/ask and the book, conflated writes (one
 * field per changed instrument per flush), a failed write retried, and a restart (or a moved partition) seeded from the cache.
 */
import { describe, expect, test } from "bun:test";
import { MemoryCache } from "../../src/cache/index.ts";
import type { Cache } from "../../src/cache/port.ts";
import type { Tick } from "../../src/events/payloads.ts";
import { cacheQuotes, flushQuotes, istDay, QuoteBook, QUOTES_KEY } from "../../src/market/quotes.ts";

const INFY = 408065;
const TCS = 2953217;
const tick = (last_price: number, exchange_ts: string, more: Partial<Tick> = {}): Tick => ({ instrument_token: INFY, last_price, exchange_ts, feed: "api", ...more });

describe("istDay", () => {
  test("India's day begins at 18:30 UTC the day before", () => {
    expect(istDay("2026-12-07T18:29:59.999Z")).toEqual({ day: "2026-12-07", startsAt: "2026-12-06T18:30:00.000Z", endsAt: "2026-12-07T18:30:00.000Z" });
    expect(istDay("2026-12-07T18:30:00Z").day).toBe("2026-12-08");
  });
});

describe("QuoteBook", () => {
  test("the day's open is its first price; high and low the extremes; ltp the last", () => {
    const book = new QuoteBook();
    for (const [p, ts] of [
      [150000, "2026-12-07T03:45:00Z"],
      [151000, "2026-12-07T04:00:00Z"],
      [149500, "2026-12-07T05:00:00Z"],
      [150250, "2026-12-07T06:00:00Z"],
    ] as const)
      book.onTick(tick(p, ts));
    expect(book.get(INFY)).toMatchObject({ ltp: 150250, open: 150000, high: 151000, low: 149500, day: "2026-12-07", ts: "2026-12-07T06:00:00Z" });
    expect(book.get(INFY)).not.toHaveProperty("prev_close");
  });

  test("a new day starts over at its first price, the previous day's last price its prev_close; a late tick of yesterday is left out", () => {
    const book = new QuoteBook();
    book.onTick(tick(150000, "2026-12-07T03:45:00Z"));
    book.onTick(tick(152000, "2026-12-07T09:59:00Z"));
    // 18:30 UTC is midnight in India: the 8th.
    book.onTick(tick(151500, "2026-12-07T18:30:00.000Z"));
    book.onTick(tick(160000, "2026-12-07T18:00:00Z"));
    book.onTick(tick(151000, "2026-12-08T04:00:00Z"));
    expect(book.get(INFY)).toMatchObject({ ltp: 151000, open: 151500, high: 151500, low: 151000, prev_close: 152000, day: "2026-12-08" });
  });

  test("volume, last quantity, bid and ask are the last given; a tick without a side leaves it; a full-mode book is kept", () => {
    const book = new QuoteBook();
    const depth = { buy: [{ price: 149995, quantity: 10, orders: 2 }], sell: [{ price: 150005, quantity: 7, orders: 1 }] };
    book.onTick(tick(150000, "2026-12-07T04:00:00Z", { bid: 149995, ask: 150005, volume: 100, last_quantity: 5, depth }));
    book.onTick(tick(150010, "2026-12-07T04:00:01Z", { volume: 120 }));
    expect(book.get(INFY)).toMatchObject({ ltp: 150010, bid: 149995, ask: 150005, volume: 120, ltq: 5, depth });
  });

  test("drain conflates: one field per instrument changed since the last drain, with its latest quote", () => {
    const book = new QuoteBook();
    for (let i = 0; i < 1000; i++) book.onTick(tick(150000 + i, "2026-12-07T04:00:00Z"));
    book.onTick({ ...tick(412000, "2026-12-07T04:00:00Z"), instrument_token: TCS });
    const fields = book.drain();
    expect(Object.keys(fields).sort()).toEqual([String(TCS), String(INFY)].sort());
    expect(JSON.parse(fields[String(INFY)]!)).toMatchObject({ ltp: 150999, high: 150999, low: 150000 });
    expect(book.drain()).toEqual({});
  });

  test("flushQuotes writes the changed quotes to the cache, where cacheQuotes reads them; unseen is undefined", async () => {
    const cache = new MemoryCache();
    const book = new QuoteBook();
    book.onTick(tick(150000, "2026-12-07T04:00:00Z"));
    await flushQuotes(book, cache);
    const [infy, tcs] = await cacheQuotes(cache).get([INFY, TCS]);
    expect(infy).toMatchObject({ instrument_token: INFY, ltp: 150000 });
    expect(tcs).toBeUndefined();
  });

  test("a write that fails is retried at the next flush", async () => {
    const cache = new MemoryCache();
    let fail = true;
    const flaky = { hset: (k: string, f: Record<string, string>) => (fail ? Promise.reject(new Error("cache down")) : cache.hset(k, f)) } as unknown as Cache;
    const book = new QuoteBook();
    book.onTick(tick(150000, "2026-12-07T04:00:00Z"));
    await expect(flushQuotes(book, flaky)).rejects.toThrow("cache down");
    fail = false;
    await flushQuotes(book, flaky);
    expect((await cacheQuotes(cache).get([INFY]))[0]?.ltp).toBe(150000);
  });

  test("a restarted book seeded from the cache keeps the day's open, high and low", async () => {
    const cache = new MemoryCache();
    const before = new QuoteBook();
    before.onTick(tick(150000, "2026-12-07T04:00:00Z"));
    before.onTick(tick(155000, "2026-12-07T05:00:00Z"));
    await flushQuotes(before, cache);
    const after = new QuoteBook();
    after.seed(await cache.hgetall(QUOTES_KEY));
    after.onTick(tick(152000, "2026-12-07T06:00:00Z"));
    expect(after.get(INFY)).toMatchObject({ open: 150000, high: 155000, low: 150000, ltp: 152000 });
  });

  test("seeding again (a partition moved here) takes the cache's quotes, except those changed here since the last drain", async () => {
    const cache = new MemoryCache();
    const previousOwner = new QuoteBook();
    previousOwner.onTick(tick(150000, "2026-12-07T04:00:00Z"));
    previousOwner.onTick({ ...tick(412000, "2026-12-07T04:00:00Z"), instrument_token: TCS });
    previousOwner.onTick(tick(158000, "2026-12-07T07:00:00Z"));
    await flushQuotes(previousOwner, cache);
    const here = new QuoteBook();
    here.onTick(tick(149000, "2026-12-07T03:50:00Z"));
    here.drain();
    here.onTick({ ...tick(415000, "2026-12-07T07:00:01Z"), instrument_token: TCS });
    here.seed(await cache.hgetall(QUOTES_KEY));
    expect(here.get(INFY)).toMatchObject({ open: 150000, high: 158000, ltp: 158000 });
    expect(here.get(TCS)).toMatchObject({ ltp: 415000 });
  });
});
