/**
 * The day's end for intraday (MIS) positions, by event time: at the MIS square-off minute (15:20
 * IST by default) of each day, every intraday position risk holds is flattened by a MARKET order
 * and the instrument's open MIS orders are cancelled; a daily-loss breach flattens them the same
 * way. Pure: the risk stage turns what this returns into events (src/stage/stages/risk-day-end.ts).
 *
 * Risk's view of a position lags the fills in flight (an order validated at 15:19:59 may fill
 * after the square-off was computed), so once an instrument's square-off ran, every later intraday
 * fill of that day that is not one of the square-off's own is countered by an opposite order of
 * its quantity: the position ends flat whatever order the fills arrive in.
 */
import type { Product, Side } from "../orders/vocabulary.ts";
import { istDay, istDayEnd } from "./day.ts";

const DAY_MS = 86_400_000;

/** True for a fill or an order of an intraday position: MIS, or no product (Kite's default, and ours). */
export const isIntraday = (product: Product | undefined): boolean => product === undefined || product === "MIS";

/**
 * The instant (epoch ms) of the IST day `ms` falls in at `minute` minutes after midnight IST.
 *
 * @example
 * squareOffInstant(Date.parse("2025-01-06T04:30:00Z"), 920) === Date.parse("2025-01-06T09:50:00Z"); // 15:20 IST
 */
export const squareOffInstant = (ms: number, minute: number): number => istDayEnd(ms) - DAY_MS + minute * 60_000;

/** "15:20" for 920. */
export const minuteText = (minute: number): string => `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/** An order that flattens (part of) one strategy's intraday position in one instrument. */
export interface SquareOff {
  order_id: string;
  strategy_id: string;
  instrument_token: number;
  side: Side;
  quantity: number;
}

/** One instrument's part, as saved with its risk_books row; `{}` when there is nothing to keep. */
export interface DayEndRow {
  /** Strategy → its net intraday units. */
  intraday?: Record<string, number>;
  /** The IST day the instrument's day-end square-off ran, and the orders it sent that day. */
  done?: { day: string; orders: string[] };
}

const opposite = (net: number): Side => (net > 0 ? "SELL" : "BUY");

/**
 * Risk's intraday book and the day-end markers, per instrument (the instruments of the partitions
 * the worker owns).
 *
 * @example
 * const dayEnd = new DayEnd();
 * dayEnd.onFill("738561", fill, "2025-01-06", (s) => derivedId(e.id, s));
 * const day = dayEnd.due(clock, 920); // "2025-01-06" once the clock reaches 15:20 IST
 */
export class DayEnd {
  /** Instrument → strategy → net intraday units (non-zero only). */
  readonly intraday = new Map<string, Record<string, number>>();
  /** Instrument → the day its square-off ran and the orders it sent that day. */
  readonly done = new Map<string, { day: string; orders: string[] }>();
  /** The next instant the day-end is due; before it nothing is checked (the tick path's one comparison). */
  #nextDue = -Infinity;

  /** The event time from which {@link due} has something to say (−∞ before the first event). */
  get nextDue(): number {
    return this.#nextDue;
  }

  /**
   * The IST day whose day-end is due at `clock` (epoch ms), the first time the clock reaches its
   * square-off minute; undefined otherwise. After a restart the clock is past it again: the
   * per-instrument markers (`done`) keep it from running twice.
   */
  due(clock: number, minute: number): string | undefined {
    if (clock < this.#nextDue) return undefined;
    const at = squareOffInstant(clock, minute);
    if (clock < at) {
      this.#nextDue = at;
      return undefined;
    }
    this.#nextDue = at + DAY_MS;
    return istDay(clock);
  }

  /** The instruments the day-end looks at: those with an intraday position, and `others` (orders today). */
  instruments(others: Iterable<string>): string[] {
    return [...new Set([...this.intraday.keys(), ...others])].sort((a, b) => Number(a) - Number(b));
  }

  /**
   * The orders that flatten `token`'s intraday positions, one per strategy, ids from `orderId`
   * (of the strategy). `day` given: the day-end of that day, once (an instrument already done
   * that day gives undefined) and remembered, so later fills are countered. Without: a
   * liquidation (the daily loss), which may run again.
   */
  flatten(token: string, orderId: (strategyId: string) => string, day?: string): SquareOff[] | undefined {
    if (day !== undefined && this.done.get(token)?.day === day) return undefined;
    const orders = Object.entries(this.intraday.get(token) ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([strategy_id, net]) => ({ order_id: orderId(strategy_id), strategy_id, instrument_token: Number(token), side: opposite(net), quantity: Math.abs(net) }));
    if (day !== undefined) this.done.set(token, { day, orders: orders.map((o) => o.order_id) });
    return orders;
  }

  /**
   * An intraday fill, applied once (the caller skips redeliveries) on `day` (the IST day risk is
   * in). After the instrument's day-end of that day, a fill not of its own orders is countered:
   * the order returned (id from `orderId`) undoes it.
   */
  onFill(token: string, fill: { order_id: string; strategy_id: string; side: Side; fill_quantity: number; product?: Product }, day: string | null, orderId: () => string): SquareOff | undefined {
    if (!isIntraday(fill.product)) return undefined;
    const by = fill.side === "BUY" ? fill.fill_quantity : -fill.fill_quantity;
    const book = this.intraday.get(token) ?? {};
    const net = (book[fill.strategy_id] ?? 0) + by;
    if (net === 0) delete book[fill.strategy_id];
    else book[fill.strategy_id] = net;
    if (Object.keys(book).length === 0) this.intraday.delete(token);
    else this.intraday.set(token, book);
    const done = this.done.get(token);
    if (done === undefined || done.day !== day || done.orders.includes(fill.order_id)) return undefined;
    const counter = { order_id: orderId(), strategy_id: fill.strategy_id, instrument_token: Number(token), side: opposite(by), quantity: fill.fill_quantity };
    done.orders.push(counter.order_id);
    return counter;
  }

  /** `token`'s part as saved. */
  rowOf(token: string): DayEndRow {
    const intraday = this.intraday.get(token);
    const done = this.done.get(token);
    return { ...(intraday ? { intraday: { ...intraday } } : {}), ...(done ? { done: { day: done.day, orders: [...done.orders] } } : {}) };
  }

  /**
   * A DayEnd from saved rows (the instruments a worker owns).
   *
   * @example
   * const dayEnd = DayEnd.restore(rows.map((r) => [String(r.token), r.day_end ?? {}]));
   */
  static restore(rows: Iterable<readonly [string, DayEndRow]>): DayEnd {
    const d = new DayEnd();
    for (const [token, row] of rows) {
      if (row.intraday && Object.keys(row.intraday).length > 0) d.intraday.set(token, { ...row.intraday });
      if (row.done) d.done.set(token, { day: row.done.day, orders: [...row.done.orders] });
    }
    return d;
  }
}
