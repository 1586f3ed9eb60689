/**
 * The in-memory cache for embedded mode: a Map with Redis's semantics for the commands the port
 * has. Expiry is checked when a key is read, and expired keys are swept when the cache is full,
 * so nothing needs a timer.
 */
import { AlphaError } from "../errors.ts";
import type { Cache } from "./port.ts";
import { checkIncrement, checkTtl } from "./port.ts";

type Entry =
  | { kind: "string"; value: string; expiresAt?: number }
  | { kind: "hash"; fields: Map<string, string>; expiresAt?: number };

/** Options of the in-memory cache, e.g. `{ maxKeys: 10_000 }`. */
export interface MemoryCacheOptions {
  /** Most keys held at once (default 100 000); past it, writing a new key fails with CACHE_FULL. */
  maxKeys?: number;
}

const INTEGER = /^-?(0|[1-9]\d*)$/;

function wrongType(key: string, want: string): AlphaError {
  return new AlphaError("CACHE_WRONG_TYPE", `key ${key} does not hold ${want}`);
}

/**
 * @example
 * const cache = new MemoryCache({ maxKeys: 10_000 });
 * await cache.set("paper:last:738561", "245135", 60_000);
 */
export class MemoryCache implements Cache {
  readonly kind = "memory";
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;

  constructor(opts: MemoryCacheOptions = {}) {
    this.#maxKeys = opts.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(this.#maxKeys) || this.#maxKeys < 1) throw new RangeError(`maxKeys must be a whole number >= 1, got ${opts.maxKeys}`);
  }

  #live(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  #string(key: string): string | null {
    const e = this.#live(key);
    if (e === undefined) return null;
    if (e.kind !== "string") throw wrongType(key, "a string");
    return e.value;
  }

  #hash(key: string): Map<string, string> | undefined {
    const e = this.#live(key);
    if (e !== undefined && e.kind !== "hash") throw wrongType(key, "a hash");
    return e?.fields;
  }

  /** Makes room for a key that is not there yet, or refuses. */
  #admit(key: string): void {
    if (this.#live(key) !== undefined || this.#entries.size < this.#maxKeys) return;
    const now = Date.now();
    for (const [k, e] of this.#entries) if (e.expiresAt !== undefined && e.expiresAt <= now) this.#entries.delete(k);
    if (this.#entries.size >= this.#maxKeys) {
      throw new AlphaError("CACHE_FULL", `memory cache is full (${this.#maxKeys} keys); cannot add ${key}: raise maxKeys or use Redis (REDIS_URL)`);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.#string(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs !== undefined) checkTtl(ttlMs);
    this.#admit(key);
    this.#entries.set(key, { kind: "string", value, expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs });
  }

  async del(keys: string | readonly string[]): Promise<number> {
    let n = 0;
    for (const k of typeof keys === "string" ? [keys] : keys) if (this.#live(k) !== undefined && this.#entries.delete(k)) n++;
    return n;
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    // Redis MGET answers nil, not an error, for a key of another type.
    return keys.map((k) => {
      const e = this.#live(k);
      return e?.kind === "string" ? e.value : null;
    });
  }

  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<number> {
    const entries = Object.entries(fields);
    if (entries.length === 0) return 0;
    let hash = this.#hash(key);
    if (hash === undefined) {
      this.#admit(key);
      hash = new Map();
      this.#entries.set(key, { kind: "hash", fields: hash });
    }
    let added = 0;
    for (const [f, v] of entries) {
      if (!hash.has(f)) added++;
      hash.set(f, v);
    }
    return added;
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.#hash(key)?.get(field) ?? null;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.#hash(key) ?? []);
  }

  async hdel(key: string, fields: readonly string[]): Promise<number> {
    const hash = this.#hash(key);
    if (hash === undefined) return 0;
    let n = 0;
    for (const f of fields) if (hash.delete(f)) n++;
    // Redis deletes a hash once its last field is gone.
    if (hash.size === 0) this.#entries.delete(key);
    return n;
  }

  async incrby(key: string, by: number): Promise<number> {
    checkIncrement(by);
    const current = this.#string(key);
    if (current !== null && !INTEGER.test(current)) throw wrongType(key, "an integer");
    const next = Number(current ?? 0) + by;
    if (!Number.isSafeInteger(next)) throw wrongType(key, `an integer that can take ${by} more`);
    if (current === null) this.#admit(key);
    const old = this.#live(key);
    // INCRBY keeps the key's TTL.
    this.#entries.set(key, { kind: "string", value: String(next), expiresAt: old?.expiresAt });
    return next;
  }

  async setNX(key: string, value: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    if (this.#live(key) !== undefined) return false;
    this.#admit(key);
    this.#entries.set(key, { kind: "string", value, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.#entries.keys()].filter((k) => k.startsWith(prefix) && this.#live(k) !== undefined);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
