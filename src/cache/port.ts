/**
 * The cache port: what the read models need from Redis or from the in-memory cache, and nothing
 * more. Adapters: `RedisCache` (ioredis) and `MemoryCache` (embedded mode). One conformance
 * suite (test/cache/conformance.ts) runs against both.
 *
 * Contract:
 * - Values and hash fields are strings; callers serialise. Keys are namespaced by the caller
 *   (`paper:…`, `zerodha:…`).
 * - TTLs are whole milliseconds > 0. `set` without a TTL makes the key permanent (as Redis SET).
 * - `incrby` and `setNX` are atomic with respect to every other client of the same cache.
 * - A string command on a hash key (or the reverse), or `incrby` on a value that is not an
 *   integer, rejects with CACHE_WRONG_TYPE. A cache that cannot be reached rejects with
 *   CACHE_UNAVAILABLE (retryable); a full memory cache with CACHE_FULL.
 */
/**
 * @example
 * const cache: Cache = openCache({ redisUrl: process.env.REDIS_URL });
 * await cache.hset(`paper:position:738561`, { qty: "10", avg_price: "245135" });
 */
export interface Cache {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<string | null>;
  /** Stores a string value, replacing what was there, expiring after `ttlMs` if given. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Deletes keys of any type; resolves to how many existed. */
  del(keys: string | readonly string[]): Promise<number>;
  /** Values in the order of `keys`, null where missing. */
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  /** Sets several fields of a hash at once; resolves to how many fields are new. */
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
  /** Every field of a hash; `{}` when the key is missing. */
  hgetall(key: string): Promise<Record<string, string>>;
  /** Removes fields; resolves to how many existed. */
  hdel(key: string, fields: readonly string[]): Promise<number>;
  /** Adds `by` (may be negative) to an integer value, missing counts as 0; resolves to the result. */
  incrby(key: string, by: number): Promise<number>;
  /**
   * Sets the key only if it does not exist, with a TTL; resolves to whether it was set. The
   * dedup primitive: `await cache.setNX(`seen:${envelope.id}`, "1", DAY)` is false for a replay.
   */
  setNX(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Every key starting with `prefix` (Redis: SCAN, never KEYS). */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Throws a RangeError unless `ttlMs` is a whole number of milliseconds above zero: a bad TTL is
 * a bug, and both adapters must refuse it the same way before anything is written.
 *
 * @example
 * checkTtl(60_000); // ok; checkTtl(0) throws
 */
export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`a TTL must be a whole number of milliseconds > 0, got ${ttlMs}`);
}

/**
 * Throws a RangeError unless `by` is a safe integer.
 *
 * @example
 * checkIncrement(-5); // ok; checkIncrement(0.5) throws
 */
export function checkIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) throw new RangeError(`an increment must be a safe integer, got ${by}`);
}
