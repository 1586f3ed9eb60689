/**
 * The cache on Redis (ioredis). Connects on first use and keeps reconnecting in the background,
 * but a command never waits long for a Redis that is down: it fails with a retryable
 * CACHE_UNAVAILABLE and the caller's retry policy decides.
 */
import { redactUrl } from "../logger.ts";
import Redis from "ioredis";
import { AlphaError } from "../errors.ts";
import type { Cache } from "./port.ts";
import { checkIncrement, checkTtl } from "./port.ts";

/** Options of the Redis cache, e.g. `{ connectTimeoutMs: 500 }`. */
export interface RedisCacheOptions {
  /** How long one connection attempt may take (default 2000 ms). */
  connectTimeoutMs?: number;
}

// SCAN's COUNT is a hint of work per call: large enough for few round trips, small enough not
// to stall Redis on a big keyspace.
const SCAN_COUNT = 1000;

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
}


/**
 * @example
 * const cache = new RedisCache("redis://127.0.0.1:16379");
 * await cache.hset("paper:position:738561", { qty: "10", avg: "245135" });
 * await cache.close();
 */
export class RedisCache implements Cache {
  readonly kind = "redis";
  readonly #redis: Redis;
  readonly #where: string;
  #lastError: Error | undefined;

  constructor(url: string, opts: RedisCacheOptions = {}) {
    this.#where = redactUrl(url, "Redis");
    this.#redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      // A command queued while Redis is away is failed after one more reconnect attempt instead
      // of ioredis's default twenty (tens of seconds); reconnecting itself goes on, capped at 2 s.
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    // Without a listener ioredis prints every failed reconnect; the cause is attached to the
    // CACHE_UNAVAILABLE the next command raises instead.
    this.#redis.on("error", (err: Error) => {
      this.#lastError = err;
    });
  }

  async #run<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof Error && err.name === "ReplyError" && /^WRONGTYPE|not an integer|overflow/.test(message)) {
        throw new AlphaError("CACHE_WRONG_TYPE", `${what}: ${message}`, { cause: err });
      }
      const why = this.#lastError && this.#lastError.message !== message ? ` (last connection error: ${this.#lastError.message})` : "";
      throw new AlphaError("CACHE_UNAVAILABLE", `${what} on Redis at ${this.#where}: ${message}${why}`, { canRetry: true, cause: err });
    }
  }

  get(key: string): Promise<string | null> {
    return this.#run(`GET ${key}`, () => this.#redis.get(key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs !== undefined) checkTtl(ttlMs);
    await this.#run(`SET ${key}`, () => (ttlMs === undefined ? this.#redis.set(key, value) : this.#redis.set(key, value, "PX", ttlMs)));
  }

  async del(keys: string | readonly string[]): Promise<number> {
    const list = typeof keys === "string" ? [keys] : [...keys];
    if (list.length === 0) return 0;
    return this.#run(`DEL ${list[0]}…`, () => this.#redis.del(...list));
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.#run(`MGET ${keys[0]}…`, () => this.#redis.mget(...keys));
  }

  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<number> {
    if (Object.keys(fields).length === 0) return 0;
    return this.#run(`HSET ${key}`, () => this.#redis.hset(key, fields));
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#run(`HGET ${key}`, () => this.#redis.hget(key, field));
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#run(`HGETALL ${key}`, () => this.#redis.hgetall(key));
  }

  async hdel(key: string, fields: readonly string[]): Promise<number> {
    if (fields.length === 0) return 0;
    return this.#run(`HDEL ${key}`, () => this.#redis.hdel(key, ...fields));
  }

  async incrby(key: string, by: number): Promise<number> {
    checkIncrement(by);
    return this.#run(`INCRBY ${key}`, () => this.#redis.incrby(key, by));
  }

  async setNX(key: string, value: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const reply = await this.#run(`SET NX ${key}`, () => this.#redis.set(key, value, "PX", ttlMs, "NX"));
    return reply === "OK";
  }

  async keys(prefix: string): Promise<string[]> {
    const found = new Set<string>();
    const match = `${globEscape(prefix)}*`;
    let cursor = "0";
    do {
      const [next, batch] = await this.#run(`SCAN ${match}`, () => this.#redis.scan(cursor, "MATCH", match, "COUNT", SCAN_COUNT));
      cursor = next;
      // SCAN may return a key more than once while the table is rehashed.
      for (const k of batch) found.add(k);
    } while (cursor !== "0");
    return [...found];
  }

  async close(): Promise<void> {
    if (this.#redis.status === "ready") {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // Fall through: the connection dropped while quitting.
      }
    }
    this.#redis.disconnect();
  }
}
