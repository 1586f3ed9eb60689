/**
 * The cache conformance suite on the in-memory cache, plus what only it has: a bound.
 */
import { describe, expect, test } from "bun:test";
import { MemoryCache, openCache } from "../../src/cache/index.ts";
import { cacheConformance } from "./conformance.ts";

cacheConformance("memory", () => new MemoryCache());

describe("memory cache: its bound", () => {
  test("openCache without a Redis URL picks it", () => {
    expect(openCache().kind).toBe("memory");
  });

  test("a new key past maxKeys is refused with CACHE_FULL; existing keys still change", async () => {
    const cache = new MemoryCache({ maxKeys: 3 });
    await cache.set("a", "1");
    await cache.hset("b", { f: "1", g: "2" });
    await cache.incrby("c", 1);
    const full = { code: "CACHE_FULL", message: expect.stringContaining("maxKeys") };
    await expect(cache.set("d", "1")).rejects.toMatchObject(full);
    await expect(cache.setNX("d", "1", 1000)).rejects.toMatchObject(full);
    await expect(cache.hset("d", { f: "1" })).rejects.toMatchObject(full);
    await expect(cache.incrby("d", 1)).rejects.toMatchObject(full);
    await cache.set("a", "2");
    await cache.hset("b", { h: "3" });
    expect(await cache.incrby("c", 1)).toBe(2);
    expect(await cache.keys("")).toHaveLength(3);
    await cache.del("a");
    await cache.set("d", "1");
  });

  test("expired keys make room", async () => {
    const cache = new MemoryCache({ maxKeys: 2 });
    await cache.set("a", "1", 50);
    await cache.setNX("b", "1", 50);
    await Bun.sleep(80);
    await cache.set("c", "1");
    await cache.set("d", "1");
    expect((await cache.keys("")).sort()).toEqual(["c", "d"]);
  });

  test("maxKeys must be a whole number >= 1", () => {
    expect(() => new MemoryCache({ maxKeys: 0 })).toThrow(RangeError);
  });
});
