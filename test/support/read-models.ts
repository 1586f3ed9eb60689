/**
 * Clears the gateway's read models and dedup marks in a shared Redis, so a test's numbers are its
 * own run's (earlier runs' keys would show up in them).
 */
import type Redis from "ioredis";

export async function clearReadModels(redis: Redis): Promise<void> {
  for (const pattern of ["paper:*", "zerodha:*", "market:last", "dedup:*"]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  }
}
