/**
 * The desk's two panic buttons. Cancel-all sends one `order.cancel` per open order that matches,
 * as DELETE /orders/:id does. Square-off flattens positions with reduce-only MARKET orders placed
 * through `orders.place` (the orders table and the outbox: an acknowledged square-off is sent
 * whatever crashes), which risk lets through in REDUCING and HALTED.
 *
 * A square-off's client_order_id names the position it flattens and the position's fill counts
 * (`squareoff/<strategy>/<token>/<bought>-<sold>/<attempt>`), so a second click while the first
 * order is under way, or a retry after a 503, answers the first order instead of placing another
 * (which could cross zero before either filled). The '/' keeps clients' own ids (the API refuses
 * it) from ever colliding with one.
 */
import type { Broker } from "../../src/config.ts";
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import { AlphaError, bounded, dependencyError } from "../../src/errors.ts";
import type { OutgoingMessage, Producer } from "../../src/log/port.ts";
import { isFinal, type Product, type Side } from "../../src/orders/vocabulary.ts";
import type { Position } from "../../src/portfolio/index.ts";
import type { OpenOrderFilter } from "../../src/store/orders.ts";
import { topicName } from "../../src/topics.ts";
import { ApiError } from "../api/errors.ts";
import type { OrderView, Services, SquareOffFilter } from "../api/services.ts";
import { LOG_WAIT_MS, REACH_WAIT_MS } from "./budgets.ts";

export const SQUARE_OFF_ID_PREFIX = "squareoff/";

/** Square-offs of one position state that ended unfilled (refused, say, for want of a price) before another is given up. */
const MAX_ATTEMPTS = 50;

export interface SquareOffDeps {
  activeBrokers: readonly Broker[];
  producer: Producer;
  /** The broker's positions from the read model (a 503 while it is rebuilt). */
  positions(broker: Broker): Promise<readonly Position[]>;
  /** The open orders that match, as the API shows them. */
  openOrders(filter: OpenOrderFilter): Promise<OrderView[]>;
  /** An order once the exchange has it (left PENDING), or as it is after a short wait: a cancel sent before would overtake it. */
  reached(order: OrderView): Promise<OrderView>;
  place: Services["orders"]["place"];
  /** The product of the latest order of the position's strategy and instrument, on `side`, that filled; undefined when unknown. */
  productOf(broker: Broker, p: Position, side: Side): Promise<Product | undefined>;
}

/** The client_order_id of a square-off of `p` as it stands (its fill counts change with every fill). */
export const squareOffId = (p: Position, attempt: number): string =>
  `${SQUARE_OFF_ID_PREFIX}${p.strategy_id}/${p.instrument_token}/${p.buy_quantity}-${p.sell_quantity}/${attempt}`;

const matches = (filter: SquareOffFilter, o: { strategy_id: string; instrument_token: number }) =>
  (filter.strategy_id === undefined || o.strategy_id === filter.strategy_id) && (filter.instrument_token === undefined || o.instrument_token === filter.instrument_token);

/**
 * @example
 * const flatten = squareOffService({ activeBrokers, producer, positions, openOrders, place: orders.place });
 * await flatten.close("paper", { instrument_token: 738561 }); // [the SELL that flattens each long of it]
 */
export function squareOffService(deps: SquareOffDeps): { cancelAll: Services["orders"]["cancelAll"]; close: Services["portfolios"]["close"] } {
  /** The orders that flatten `p`: square-offs already working on it, and one more for what they leave. */
  async function flatten(broker: Broker, p: Position, working: readonly OrderView[]): Promise<OrderView[]> {
    const side: Side = p.quantity > 0 ? "SELL" : "BUY";
    const mine = working.filter((o) => o.side === side && matches(p, o));
    const left = Math.abs(p.quantity) - mine.reduce((n, o) => n + o.quantity - o.filled_quantity, 0);
    if (left <= 0) return mine;
    // Positions do not record their product: the one that opened it, else MIS (intraday).
    const product = (await deps.productOf(broker, p, side === "SELL" ? "BUY" : "SELL")) ?? "MIS";
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { order, created } = await deps.place({
        broker,
        instrument_token: p.instrument_token,
        side,
        quantity: left,
        order_type: "MARKET",
        product,
        strategy_id: p.strategy_id,
        client_order_id: squareOffId(p, attempt),
        reduce_only: true,
      });
      // This position's square-off placed before: still working, or filled (the position has not
      // caught up yet). One that ended unfilled is tried again under the next attempt's id.
      if (created || !isFinal(order.status) || order.filled_quantity > 0) return [...mine, order];
    }
    throw new AlphaError("CONFLICT", `the square-off of ${p.strategy_id}'s position in ${p.instrument_token} ended unfilled ${MAX_ATTEMPTS} times at this position; see its orders (client_order_id ${squareOffId(p, 0).replace(/\/0$/, "/…")})`);
  }

  return {
    async cancelAll(filter) {
      const brokers = filter.broker ? [filter.broker] : deps.activeBrokers;
      const listed = (await deps.openOrders(filter)).filter((o) => brokers.includes(o.broker));
      const t0 = Date.now();
      const open = (await Promise.all(listed.map((o) => (o.status === "PENDING" ? deps.reached(o) : o)))).filter((o) => !isFinal(o.status));
      // The wait for the exchange comes out of the send's budget: the answer stays within 2 s.
      const sendWaitMs = LOG_WAIT_MS - Math.min(Date.now() - t0, REACH_WAIT_MS);
      if (open.length === 0) return [];
      const messages: OutgoingMessage[] = open.map((o) => {
        const key = String(o.instrument_token);
        const cancel = createEvent(
          { type: "order.cancel", source: "gateway", broker: o.broker, key, data: { order_id: o.order_id, instrument_token: o.instrument_token, reason: "cancelled with every open order that matched (cancel-all)" } },
          { correlation_id: o.correlation_id },
        );
        return { topic: topicName("orderCommands", o.broker), key, value: encodeEnvelope(cancel) };
      });
      // Cancels that reach the log after our 503 are harmless: cancelling twice is a no-op.
      await bounded(deps.producer.send(messages), sendWaitMs, "LOG_UNAVAILABLE", "cannot send the cancels: the log did not answer");
      return open.map((o) => o.order_id);
    },

    async close(broker, filter) {
      const held = (await deps.positions(broker)).filter((p) => p.quantity !== 0 && matches(filter, p));
      if (held.length === 0) return [];
      const working = (await deps.openOrders({ broker, ...filter })).filter((o) => o.client_order_id?.startsWith(SQUARE_OFF_ID_PREFIX));
      const settled = await Promise.allSettled(held.map((p) => flatten(broker, p, working)));
      const placed = settled.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
      const failed = settled.find((r) => r.status === "rejected");
      if (!failed) return placed;
      // Some placed and some not (the store or the log down meanwhile): a 503 that names the
      // orders placed, so the answer says what happened; a retry places only what is missing.
      const cause = dependencyError(failed.reason);
      if (!cause || placed.length === 0) throw failed.reason;
      throw new ApiError(cause.code, `${cause.message}; ${placed.length} of the square-off's orders were placed (details.order_ids), the rest not: retrying places only the rest`, {
        status: 503,
        headers: { "Retry-After": "1" },
        details: { order_ids: placed.map((o) => o.order_id) },
      });
    },
  };
}
