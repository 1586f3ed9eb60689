/**
 * Every call the API makes that waits on a dependency answers within SERVICE_WAIT_MS, and every
 * dependency failure leaves as a retryable AlphaError (a 503), whatever raised it: the calls with
 * a bound of their own (orders, strategies, risk) keep their codes; the rest (portfolio reads from
 * the cache and the ledger, the tick consumer's start) get this one. `orders.place` and the
 * square-off (`portfolios.close`) are left alone: their answers must match what happened to the
 * orders, and they keep their own budgets.
 */
import { bounded, dependencyError } from "../../src/errors.ts";
import type { Services } from "../api/services.ts";
import { SERVICE_WAIT_MS } from "./budgets.ts";

/**
 * @example
 * const services = guarded({ activeBrokers, orders, portfolios, strategies, risk, instruments, ticks, events });
 */
export function guarded<S extends Services>(services: S): S {
  const wrap = <F extends (...args: never[]) => Promise<unknown>>(call: F, what: string): F =>
    (async (...args: Parameters<F>) => {
      try {
        return await bounded(call(...args), SERVICE_WAIT_MS, "TIMEOUT", `${what}: a dependency did not answer`);
      } catch (err) {
        throw dependencyError(err) ?? err;
      }
    }) as F;
  const { orders, portfolios, strategies, risk, ticks, events } = services;
  return {
    ...services,
    orders: {
      place: orders.place,
      list: wrap(orders.list, "list orders"),
      get: wrap(orders.get, "read the order"),
      cancel: wrap(orders.cancel, "cancel the order"),
      cancelAll: wrap(orders.cancelAll, "cancel the open orders"),
      modify: wrap(orders.modify, "modify the order"),
    },
    portfolios: {
      ...portfolios,
      get: wrap(portfolios.get, "read the portfolio"),
      trades: wrap(portfolios.trades, "read the trades"),
      // Like `orders.place`, whose budgets it keeps: its answer must match the orders it placed.
      close: portfolios.close,
    },
    strategies: { list: wrap(strategies.list, "list strategies"), create: wrap(strategies.create, "create the strategy"), update: wrap(strategies.update, "update the strategy") },
    risk: { ...risk, get: wrap(risk.get, "read the risk settings"), putLimits: wrap(risk.putLimits, "set the limits"), setState: wrap(risk.setState, "set the trading state") },
    ticks: { ...ticks, publish: wrap(ticks.publish, "publish the ticks") },
    events: {
      ...events,
      async watchTicks() {
        const watching = events.watchTicks();
        try {
          return await bounded(watching, SERVICE_WAIT_MS, "LOG_UNAVAILABLE", "watch ticks: the log did not answer");
        } catch (err) {
          // A watch that starts after we gave up is let go at once, or the consumer would stay.
          watching.then((release) => release(), () => {});
          throw dependencyError(err) ?? err;
        }
      },
    },
  };
}
