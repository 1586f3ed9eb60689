/**
 * The risk stage's day's end (src/risk/day-end.ts), as events: with MARKET_HOURS=nse, when its
 * event clock first reaches MIS_SQUARE_OFF_AT (IST) of a day, for each instrument it owns that has
 * an intraday position or orders of the day, an `order.cancel_open` of its MIS orders and a MARKET
 * `signal.validated` (reduce-only, product MIS) per strategy that flattens its intraday position;
 * a daily-loss breach (trading goes REDUCING) squares off the same way, whatever the hours.
 * Risk decides these orders itself, so they are written as validated; the orders view and the
 * blotter show them with their reason. Ids derive from the causing event: a redelivery writes the same.
 */
import type { Broker } from "../../config.ts";
import { childOf, type AnyEnvelope, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { DayEnd, minuteText, type DayEndRow, type SquareOff } from "../../risk/day-end.ts";
import type { RiskFold, RiskState } from "../../risk/index.ts";
import { topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";

type Cause = AnyEnvelope | Envelope;

export function dayEndSide(ctx: StageContext, brokers: readonly Broker[], lastPrice: (token: number) => number | undefined) {
  const enforced = ctx.config.marketHours === "nse";
  const minute = ctx.config.misSquareOffMinute;
  const at = `${minuteText(minute)} IST`;
  const books = new Map<Broker, DayEnd>(brokers.map((b) => [b, new DayEnd()]));

  function validated(b: Broker, o: SquareOff, cause: Cause, reason: string, check: { rule: string; detail: string }): Outgoing {
    const price = lastPrice(o.instrument_token);
    const data = {
      signal_id: o.order_id,
      strategy_id: o.strategy_id,
      instrument_token: o.instrument_token,
      side: o.side,
      quantity: o.quantity,
      order_type: "MARKET" as const,
      product: "MIS" as const,
      reduce_only: true,
      reason,
      ...(price !== undefined ? { reference_price: price } : {}),
      checks: [{ ...check, passed: true }],
    };
    const child = childOf(cause as Envelope, { type: "signal.validated", source: "risk", broker: b, key: String(o.instrument_token), data });
    return { topic: topicName("signalsValidated", b), event: { ...child, id: derivedId(o.order_id, "risk/validated") } };
  }

  function cancelOpen(b: Broker, token: string, cause: Cause, reason: string, rule: string): Outgoing {
    const cmd = childOf(cause as Envelope, { type: "order.cancel_open", source: "risk", broker: b, key: token, data: { instrument_token: Number(token), product: "MIS", reason } });
    return { topic: topicName("orderCommands", b), event: { ...cmd, id: derivedId(cause.id, `risk/${rule}/cancel-open/${b}/${token}`) } };
  }

  /** Cancels first, then the square-offs: written in that order, each instrument's cancel before its orders. */
  function flattenAll(b: Broker, fold: RiskFold, cause: Cause, reason: string, rule: string, day?: string): Outgoing[] {
    const book = books.get(b)!;
    const out: Outgoing[] = [];
    for (const token of book.instruments(fold.orders.keys())) {
      const orders = book.flatten(token, (s) => derivedId(cause.id, `risk/${rule}/${b}/${token}/${s}`), day);
      if (orders === undefined) continue;
      fold.dirty.add(token);
      out.push(cancelOpen(b, token, cause, reason, rule));
      for (const o of orders) out.push(validated(b, o, cause, reason, { rule, detail: `${reason}: ${o.strategy_id}'s intraday position ${o.side === "SELL" ? o.quantity : -o.quantity} → 0` }));
    }
    if (out.length > 0) ctx.logger.info({ broker: b, orders: out.length, reason }, "intraday positions squared off");
    return out;
  }

  return {
    /** The broker's part of a saved row. */
    rowOf: (b: Broker, token: string): DayEndRow => books.get(b)!.rowOf(token),
    /** After the rows of the instruments the worker owns were loaded. */
    restore(b: Broker, rows: ReadonlyArray<{ token: number; day_end?: DayEndRow }>): void {
      books.set(b, DayEnd.restore(rows.map((r) => [String(r.token), r.day_end ?? {}] as const)));
    },
    /** When the next day-end is due, by event time (never with MARKET_HOURS=off). */
    dueAt(): number {
      if (!enforced) return Infinity;
      let at = Infinity;
      for (const book of books.values()) at = Math.min(at, book.nextDue);
      return at;
    },
    /** After an event moved the broker's clock: the day-end's cancels and orders, once a day. */
    onClock(b: Broker, fold: RiskFold, cause: Cause): Outgoing[] {
      if (!enforced) return [];
      const day = books.get(b)!.due(fold.clock, minute);
      return day === undefined ? [] : flattenAll(b, fold, cause, `MIS square-off at ${at}`, "MIS_SQUARE_OFF", day);
    },
    /** A fill applied (not a redelivery): the intraday book, and the order that counters a fill after the day-end. */
    onFill(b: Broker, fold: RiskFold, state: RiskState, e: Envelope<"order.filled">): Outgoing[] {
      const token = String(e.data.instrument_token);
      const counter = books.get(b)!.onFill(token, e.data, state.day, () => derivedId(e.id, "risk/square-off/counter"));
      fold.dirty.add(token);
      if (!counter) return [];
      const reason = `MIS square-off at ${at}: a fill after it is undone`;
      return [validated(b, counter, e, reason, { rule: "MIS_SQUARE_OFF", detail: `${reason} (${e.data.side} ${e.data.fill_quantity} of order ${e.data.order_id})` })];
    },
    /** The daily-loss liquidation: every intraday position of the broker, flattened now. */
    liquidate(b: Broker, fold: RiskFold, cause: Cause, why: string): Outgoing[] {
      return flattenAll(b, fold, cause, `daily loss limit breached, intraday positions squared off (${why})`, "DAILY_LOSS_LIQUIDATION");
    },
  };
}
