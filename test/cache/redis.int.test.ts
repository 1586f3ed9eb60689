/**
 * The cache conformance suite on a real Redis (REDIS_URL, default `bun run infra:up`'s), plus
 * what only Redis has: SCAN instead of KEYS, and being down.
 */
import { describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { openCache, RedisCache } from "../../src/cache/index.ts";
import { infra, needs } from "../support/infra.ts";
import { cacheConformance } from "./conformance.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const redisUp = await needs("redis");

if (redisUp) cacheConformance("redis", () => openCache({ redisUrl: infra.redisUrl }));

/** Calls of one command so far, from Redis's own INFO commandstats. */
async function calls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info("commandstats");
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

// Skipped only when the service does not answer and REQUIRE_INFRA is unset; with REQUIRE_INFRA=1
// (as in CI) needs() has already registered a failing test for it (test/support/infra.ts).
describe.skipIf(!redisUp)("redis cache: what only Redis has", () => {
  test("keys(prefix) walks with SCAN and never sends KEYS", async () => {
    const admin = new Redis(infra.redisUrl);
    const cache = new RedisCache(infra.redisUrl);
    const prefix = `scan:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
    try {
      await cache.set(`${prefix}1`, "1");
      const [keysBefore, scanBefore] = [await calls(admin, "keys"), await calls(admin, "scan")];
      expect(await cache.keys(prefix)).toEqual([`${prefix}1`]);
      expect(await calls(admin, "keys")).toBe(keysBefore);
      expect(await calls(admin, "scan")).toBeGreaterThan(scanBefore);
    } finally {
      await cache.del(`${prefix}1`);
      await cache.close();
      admin.disconnect();
    }
  });
});

describe("redis cache: a Redis that is not there", () => {
  test("a command rejects quickly with a retryable CACHE_UNAVAILABLE, and close still resolves", async () => {
    // Port 1 on loopback: nothing listens there, so every connection attempt is refused at once.
    const cache = openCache({ redisUrl: "redis://127.0.0.1:1" });
    expect(cache.kind).toBe("redis");
    const started = performance.now();
    await expect(cache.get("k")).rejects.toMatchObject({ code: "CACHE_UNAVAILABLE", canRetry: true, message: expect.stringContaining("127.0.0.1:1") });
    await expect(cache.setNX("k", "v", 1000)).rejects.toMatchObject({ code: "CACHE_UNAVAILABLE" });
    expect(performance.now() - started).toBeLessThan(5000);
    await cache.close();
  });

  test("closing a cache that was never used does not connect", async () => {
    await new RedisCache("redis://127.0.0.1:1").close();
  });
});
