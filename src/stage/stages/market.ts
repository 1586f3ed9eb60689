/**
 * Last traded prices as a stage sees them: from the ticks it consumes, falling back to the
 * `market:last` hash (written by the portfolio stage) right after a start.
 */
import type { Cache } from "../../cache/port.ts";

export const LAST_PRICES_KEY = "market:last";

export function lastPrices(cache: Cache) {
  const local = new Map<number, number>();
  return {
    set(token: number, price: number) {
      local.set(token, price);
    },
    async get(token: number): Promise<number | undefined> {
      const known = local.get(token);
      if (known !== undefined) return known;
      const stored = await cache.hget(LAST_PRICES_KEY, String(token));
      return stored === null ? undefined : Number(stored);
    },
    peek(token: number): number | undefined {
      return local.get(token);
    },
  };
}
