/**
 * Last traded prices as a stage sees them: from the ticks it consumes, and nothing else (no
 * cache: stages share nothing outside the log). Unknown until the instrument's first tick.
 */

/**
 * @example
 * const prices = lastPrices();
 * prices.set(738561, 129_045);
 * await prices.get(738561); // 129_045
 */
// The argument is what the risk stage passes today (it used to fall back to the portfolio's
// cache); ignored, and to be dropped with that call.
export function lastPrices(_unused?: unknown) {
  const local = new Map<number, number>();
  return {
    set(token: number, price: number) {
      local.set(token, price);
    },
    async get(token: number): Promise<number | undefined> {
      return local.get(token);
    },
    peek(token: number): number | undefined {
      return local.get(token);
    },
  };
}
