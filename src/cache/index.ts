/**
 * The cache: Redis when REDIS_URL is set, an in-memory map otherwise (embedded mode).
 */
import { MemoryCache } from "./memory.ts";
import type { MemoryCacheOptions } from "./memory.ts";
import type { Cache } from "./port.ts";
import { RedisCache } from "./redis.ts";

export { MemoryCache } from "./memory.ts";
export type { MemoryCacheOptions } from "./memory.ts";
export type { Cache } from "./port.ts";
export { RedisCache } from "./redis.ts";
export type { RedisCacheOptions } from "./redis.ts";

/**
 * Picks the adapter: Redis if `redisUrl` is given, else the in-memory cache. Redis is connected
 * on first use, so this never blocks or fails; an unreachable Redis shows up as CACHE_UNAVAILABLE
 * on the first command.
 *
 * @example
 * const cache = openCache({ redisUrl: process.env.REDIS_URL });
 * if (await cache.setNX(`paper:seen:${envelope.id}`, "1", 24 * 3_600_000)) await apply(envelope);
 */
export function openCache(opts: { redisUrl?: string } & MemoryCacheOptions = {}): Cache {
  return opts.redisUrl === undefined ? new MemoryCache(opts) : new RedisCache(opts.redisUrl);
}
