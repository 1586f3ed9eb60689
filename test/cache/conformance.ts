/**
 * The cache port's conformance suite: one set of behaviours every adapter must have. It runs
 * against the in-memory cache and real Redis. Every key lives under a prefix unique to the run,
 * and whatever is left under it is deleted at the end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Cache } from "../../src/cache/index.ts";

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export function cacheConformance(name: string, open: () => Cache | Promise<Cache>): void {
  describe(`cache conformance: ${name}`, () => {
    const prefix = `conf:${run}:${name}:`;
    let seq = 0;
    const key = (what: string) => `${prefix}${what}:${seq++}`;
    let cache: Cache;

    beforeAll(async () => {
      cache = await open();
    });
    afterAll(async () => {
      if (!cache) return;
      await cache.del(await cache.keys(prefix));
      await cache.close();
    });

    test("set, get, overwrite and del", async () => {
      const [a, b] = [key("a"), key("b")];
      expect(await cache.get(a)).toBeNull();
      await cache.set(a, "1");
      await cache.set(b, "2");
      expect(await cache.get(a)).toBe("1");
      await cache.set(a, "one");
      expect(await cache.get(a)).toBe("one");
      expect(await cache.del(a)).toBe(1);
      expect(await cache.get(a)).toBeNull();
      expect(await cache.del([a, b, key("never")])).toBe(1);
      expect(await cache.del([])).toBe(0);
    });

    test("unicode keys and values come back byte for byte", async () => {
      const k = key("निफ्टी-日本");
      const value = "₹ २४५१.३५ — 日本語 🚀 \u0000 \"quoted\" \n newline";
      await cache.set(k, value);
      expect(await cache.get(k)).toBe(value);
      await cache.hset(k + ":h", { "फ़ील्ड": value });
      expect(await cache.hgetall(k + ":h")).toEqual({ "फ़ील्ड": value });
      expect(await cache.keys(k)).toContain(k);
    });

    test("a TTL expires the key; a later set without TTL makes it permanent", async () => {
      const [short, kept] = [key("short"), key("kept")];
      await cache.set(short, "x", 100);
      await cache.set(kept, "x", 100);
      await cache.set(kept, "y");
      expect(await cache.get(short)).toBe("x");
      await Bun.sleep(250);
      expect(await cache.get(short)).toBeNull();
      expect(await cache.get(kept)).toBe("y");
      expect(await cache.keys(short)).toEqual([]);
    });

    test("setNX sets once, refuses while the key lives, and sets again once it expired", async () => {
      const k = key("dedup");
      expect(await cache.setNX(k, "first", 150)).toBe(true);
      expect(await cache.setNX(k, "second", 150)).toBe(false);
      expect(await cache.get(k)).toBe("first");
      await Bun.sleep(300);
      expect(await cache.setNX(k, "third", 150)).toBe(true);
      expect(await cache.get(k)).toBe("third");
    });

    test("setNX raced by many callers lets exactly one through", async () => {
      const k = key("race");
      const won = await Promise.all(Array.from({ length: 50 }, (_, i) => cache.setNX(k, String(i), 10_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    test("incrby counts from zero, goes both ways, and keeps the TTL", async () => {
      const k = key("n");
      expect(await cache.incrby(k, 5)).toBe(5);
      expect(await cache.incrby(k, -7)).toBe(-2);
      expect(await cache.get(k)).toBe("-2");
      const t = key("ttl");
      await cache.set(t, "10", 150);
      expect(await cache.incrby(t, 1)).toBe(11);
      await Bun.sleep(300);
      expect(await cache.get(t)).toBeNull();
    });

    test("200 concurrent increments make 200, each seeing its own value", async () => {
      const k = key("concurrent");
      const seen = await Promise.all(Array.from({ length: 200 }, () => cache.incrby(k, 1)));
      expect(await cache.get(k)).toBe("200");
      expect(new Set(seen).size).toBe(200);
      expect(Math.max(...seen)).toBe(200);
    });

    test("hashes: hset several fields, hget, hgetall, hdel", async () => {
      const h = key("position");
      expect(await cache.hset(h, { qty: "10", avg: "245135" })).toBe(2);
      expect(await cache.hset(h, { qty: "15", realised: "-500" })).toBe(1);
      expect(await cache.hget(h, "qty")).toBe("15");
      expect(await cache.hget(h, "missing")).toBeNull();
      expect(await cache.hgetall(h)).toEqual({ qty: "15", avg: "245135", realised: "-500" });
      expect(await cache.hdel(h, ["avg", "missing"])).toBe(1);
      expect(await cache.hgetall(h)).toEqual({ qty: "15", realised: "-500" });
      expect(await cache.hgetall(key("no-hash"))).toEqual({});
      expect(await cache.hget(key("no-hash"), "f")).toBeNull();
      expect(await cache.hset(h, {})).toBe(0);
      // A hash whose last field is gone is gone.
      await cache.hdel(h, ["qty", "realised"]);
      expect(await cache.keys(h)).toEqual([]);
    });

    test("mget answers in order, null for missing keys", async () => {
      const [a, b, missing] = [key("a"), key("b"), key("missing")];
      await cache.set(a, "A");
      await cache.set(b, "B");
      expect(await cache.mget([a, missing, b])).toEqual(["A", null, "B"]);
      expect(await cache.mget([])).toEqual([]);
    });

    test("a command on a key of the other type rejects with CACHE_WRONG_TYPE", async () => {
      const [s, h] = [key("string"), key("hash")];
      await cache.set(s, "not a number");
      await cache.hset(h, { f: "v" });
      await expect(cache.hset(s, { f: "v" })).rejects.toMatchObject({ code: "CACHE_WRONG_TYPE", canRetry: false });
      await expect(cache.get(h)).rejects.toMatchObject({ code: "CACHE_WRONG_TYPE" });
      await expect(cache.incrby(s, 1)).rejects.toMatchObject({ code: "CACHE_WRONG_TYPE" });
      expect(await cache.get(s)).toBe("not a number");
    });

    test("keys(prefix) finds exactly its prefix, glob characters taken literally", async () => {
      const base = key("scan");
      const mine = Array.from({ length: 2500 }, (_, i) => `${base}:x:${i}`);
      await Promise.all(mine.map((k) => cache.set(k, "1")));
      await cache.set(`${base}:xy:1`, "1");
      await cache.set(`${base}:y:1`, "1");
      await cache.set(`${base}:[a]*?\\:1`, "1");
      await cache.set(`${base}:a*?\\:1`, "1");
      const found = await cache.keys(`${base}:x:`);
      expect(found.sort()).toEqual([...mine].sort());
      expect(await cache.keys(`${base}:[a]*?\\:`)).toEqual([`${base}:[a]*?\\:1`]);
      expect(await cache.keys(`${base}:nothing`)).toEqual([]);
    });

    test("TTLs and increments must be whole and positive", async () => {
      const k = key("bad");
      await expect(cache.set(k, "v", 0)).rejects.toBeInstanceOf(RangeError);
      await expect(cache.setNX(k, "v", 1.5)).rejects.toBeInstanceOf(RangeError);
      await expect(cache.incrby(k, 0.5)).rejects.toBeInstanceOf(RangeError);
      expect(await cache.get(k)).toBeNull();
    });
  });
}
