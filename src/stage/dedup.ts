/**
 * Dedup on the envelope id: a redelivered event is skipped. Ids are marked seen only after a
 * batch's outputs were acknowledged (src/stage/processor.ts).
 */
import type { Cache } from "../cache/port.ts";

/** Remembers which envelope ids a stage has handled. */
export interface Dedup {
  seen(ids: readonly string[]): Promise<boolean[]>;
  mark(ids: readonly string[]): Promise<void>;
}

/** How long a stage remembers an id in a shared cache (Redis): longer than any redelivery. */
export const DEDUP_TTL_MS = 3 * 24 * 3_600_000;

/**
 * Dedup in the cache (Redis or in-memory), one key per id with a TTL longer than any redelivery.
 *
 * @example
 * const dedup = cacheDedup(cache, "risk");
 */
export function cacheDedup(cache: Cache, stage: string, ttlMs = DEDUP_TTL_MS): Dedup {
  const key = (id: string) => `dedup:${stage}:${id}`;
  return {
    async seen(ids) {
      if (ids.length === 0) return [];
      return (await cache.mget(ids.map(key))).map((v) => v !== null);
    },
    async mark(ids) {
      await Promise.all(ids.map((id) => cache.set(key(id), "1", ttlMs)));
    },
  };
}

/**
 * Dedup for a stage that is the only one marking its ids: the embedded mode, where the cache lives
 * on the main thread and each stage has one worker. The ids are kept in the worker too, so `seen`
 * answers without a round trip to the main thread on every signal's path, and written through to
 * the cache, where a restarted worker finds them: it loads them when it starts. An id is
 * forgotten after `ttlMs` here as in the cache.
 *
 * Not for a cache other processes mark in too (Redis, several gateways): an id one of them
 * marked would not be seen here.
 *
 * @example
 * const dedup = await rememberingDedup(cache, "risk", 120_000);
 */
export async function rememberingDedup(cache: Cache, stage: string, ttlMs: number): Promise<Dedup> {
  const inCache = cacheDedup(cache, stage, ttlMs);
  const prefix = `dedup:${stage}:`;
  // id → when it is forgotten. One TTL for all, so insertion order is expiry order.
  const known = new Map<string, number>();
  const loadedUntil = Date.now() + ttlMs;
  for (const key of await cache.keys(prefix)) known.set(key.slice(prefix.length), loadedUntil);
  const forget = (now: number) => {
    for (const [id, until] of known) {
      if (until > now) break;
      known.delete(id);
    }
  };
  return {
    async seen(ids) {
      const now = Date.now();
      return ids.map((id) => (known.get(id) ?? 0) > now);
    },
    async mark(ids) {
      await inCache.mark(ids);
      const now = Date.now();
      forget(now);
      for (const id of ids) {
        known.delete(id);
        known.set(id, now + ttlMs);
      }
    },
  };
}
