/**
 * The paper broker: an exchange simulator as pure functions of (state, command). No clock, no
 * I/O: time comes in as `now`, ids from the order itself. The same inputs in the same order give
 * the same state and the same events, byte for byte.
 */
import type { ExchangeCalendar } from "../market/calendar.ts";
import { PRICES_NEEDED } from "../orders/vocabulary.ts";
import type { Tick } from "../events/payloads.ts";
import { parseExchangeConfig, type ExchangeConfig, type ExchangeConfigInput } from "./config.ts";
import { cancelled, cancelRejected, rejected, submitted } from "./events.ts";
import { match } from "./matching.ts";
import { modifyResting, type OrderChange } from "./modify.ts";
import { stopTriggered } from "./pricing.ts";
import { applyUpdate, findClosed, has, lastTrade, ordersOf } from "./state.ts";
import type { ClosedOrder, ExchangeCommand, ExchangeEvent, ExchangeResult, ExchangeState, InstrumentLookup, InstrumentSpec, LastTrade, OpenOrder, OrderRequest } from "./types.ts";
import { refusal } from "./validate.ts";

const done = (open: OpenOrder) => open.filled_quantity === open.order.quantity;
/** An order just accepted, nothing filled yet. */
const accepted = (order: OrderRequest, instrument: InstrumentSpec, now: string, status: OpenOrder["status"]): OpenOrder => ({
  order,
  status,
  working: order.order_type === "MARKET" || order.order_type === "SL-M" ? "MARKET" : "LIMIT",
  tick_size: instrument.tick_size,
  lot_size: instrument.lot_size,
  filled_quantity: 0,
  filled_value: 0,
  fills: 0,
  submitted_at: now,
  updated_at: now,
});

/** A stop order rests untriggered until the market crosses its trigger price. */
const isStop = (order: OrderRequest) => PRICES_NEEDED[order.order_type].trigger_price;

/**
 * A simulated exchange. Holds only its settings; the state is passed in and returned, so the
 * worker owns it (and persists it as JSON).
 *
 * @example
 * const exchange = new PaperExchange({ slippage_bps: 2 }, { instruments: master.byToken });
 * let state = emptyExchangeState();
 * ({ state } = exchange.onTick(state, tick, now));
 * const { state: next, events } = exchange.submit(state, order, now); // [order.submitted, order.filled]
 */
export class PaperExchange {
  readonly config: ExchangeConfig;
  readonly #instruments: InstrumentLookup;
  readonly #inPlace: boolean;
  readonly #hours: ExchangeCalendar | undefined;

  /**
   * Validates the settings once (ConfigError lists every problem). `instruments`: what the
   * exchange lists (an unknown token is rejected UNKNOWN_INSTRUMENT). `inPlace`: the caller hands
   * over the state it passes and keeps only the one returned, so it is updated in place instead
   * of copied (same results, without copying every instrument's last trade on every tick).
   * Default: pure, the state passed in is never changed. `hours` (MARKET_HOURS=nse): an
   * after-market order placed while its exchange is closed is held until the next open; without
   * it an after-market order trades at once like any other.
   */
  constructor(config: ExchangeConfigInput, opts: { instruments: InstrumentLookup; inPlace?: boolean; hours?: ExchangeCalendar }) {
    this.config = parseExchangeConfig(config);
    this.#instruments = opts.instruments;
    this.#inPlace = opts.inPlace ?? false;
    this.#hours = opts.hours;
  }

  /** When an after-market order placed at `now` joins the market: the next open, if it is closed now. */
  #releaseAt(order: OrderRequest, instrument: InstrumentSpec | undefined, now: string): string | undefined {
    const exchange = instrument?.exchange;
    if (!order.amo || !this.#hours || exchange === undefined || !this.#hours.covers(exchange)) return undefined;
    const at = Date.parse(now);
    return this.#hours.isOpen(exchange, at) ? undefined : this.#hours.nextOpen(exchange, at).at;
  }

  /**
   * Accepts or rejects an order. Accepted: order.submitted, then order.filled if it fills at once.
   * An order id the exchange already knows (open or remembered as closed) changes nothing and
   * emits nothing: a redelivered command is harmless.
   */
  submit(state: ExchangeState, order: OrderRequest, now: string): ExchangeResult {
    if (has(state.open, order.order_id) || findClosed(state, order.order_id)) return { state, events: [] };
    const token = order.instrument_token;
    const instrument = this.#instruments(token);
    const last = lastTrade(state, token);
    const releaseAt = this.#releaseAt(order, instrument, now);
    const refused = refusal(order, instrument, last?.price, this.config, releaseAt !== undefined);
    if (refused || !instrument) {
      const { reason, message } = refused ?? { reason: "UNKNOWN_INSTRUMENT", message: `instrument ${token} is not listed` };
      const closed: ClosedOrder = { order, status: "REJECTED", closed_at: now };
      const next = applyUpdate(state, { token, orders: ordersOf(state, token), opened: [], closed: [closed] }, this.config.closed_order_memory, this.#inPlace);
      return { state: next, events: [rejected(order, reason, message)] };
    }

    if (releaseAt !== undefined) return this.#hold(state, order, instrument, now, releaseAt);
    const fired = isStop(order) && last !== undefined && order.trigger_price !== undefined && stopTriggered(order.side, last.price, order.trigger_price);
    let open = accepted(order, instrument, now, isStop(order) && !fired ? "TRIGGER_PENDING" : "OPEN");
    const events: ExchangeEvent[] = [submitted(order)];
    let nextLast: LastTrade | undefined;
    if (last) {
      const matched = match(open, last, true, this.config, now);
      open = matched.order;
      nextLast = matched.last === last ? undefined : matched.last;
      if (matched.event) events.push(matched.event);
    }
    const resting = !done(open);
    const next = applyUpdate(
      state,
      {
        token,
        orders: resting ? [...ordersOf(state, token), open] : ordersOf(state, token),
        opened: resting ? [order.order_id] : [],
        closed: resting ? [] : [{ order, status: "FILLED", closed_at: now }],
        ...(nextLast ? { last: nextLast } : {}),
      },
      this.config.closed_order_memory,
      this.#inPlace,
    );
    return { state: next, events };
  }

  /** An after-market order accepted and held out of matching until `releaseAt`, behind the orders already held. */
  #hold(state: ExchangeState, order: OrderRequest, instrument: InstrumentSpec, now: string, releaseAt: string): ExchangeResult {
    const held: OpenOrder = { ...accepted(order, instrument, now, isStop(order) ? "TRIGGER_PENDING" : "OPEN"), release_at: releaseAt };
    const token = order.instrument_token;
    const next = applyUpdate(state, { token, orders: [...ordersOf(state, token), held], opened: [order.order_id], closed: [] }, this.config.closed_order_memory, this.#inPlace);
    return { state: next, events: [submitted(order)] };
  }

  /**
   * A trade on one instrument: records the last price, fires stops, fills what the price reaches.
   * Looks only at that instrument's orders, oldest first. `now` is when it traded; for an order
   * that arrived after that (a tick handled after the order though it traded before), what the
   * tick does to it happens when the order arrived: an order's times never go back.
   */
  onTick(state: ExchangeState, tick: Tick, now: string): ExchangeResult {
    const token = tick.instrument_token;
    let last: LastTrade = { price: tick.last_price, available: this.config.partial_fills ? (tick.last_quantity ?? null) : null };
    const events: ExchangeEvent[] = [];
    const orders: OpenOrder[] = [];
    const closed: ClosedOrder[] = [];
    for (const before of ordersOf(state, token)) {
      let resting = before;
      let arriving = false;
      // An after-market order waits for the open (ISO 8601 UTC with milliseconds, as every
      // envelope's ts: compared as strings); the first tick from then on brings it in as a new order.
      if (resting.release_at !== undefined) {
        if (now < resting.release_at) {
          orders.push(resting);
          continue;
        }
        const { release_at: _released, ...rest } = resting;
        resting = rest;
        arriving = true;
      }
      const at = resting.updated_at > now ? resting.updated_at : now;
      if (resting.status === "TRIGGER_PENDING" && resting.order.trigger_price !== undefined && stopTriggered(resting.order.side, last.price, resting.order.trigger_price)) {
        resting = { ...resting, status: "OPEN", updated_at: at };
        arriving = true; // a fired stop is a new order at this tick: marketable-limit pricing
      }
      const matched = match(resting, last, arriving, this.config, at);
      last = matched.last;
      if (matched.event) events.push(at === now ? matched.event : { ...matched.event, at });
      if (done(matched.order)) closed.push({ order: matched.order.order, status: "FILLED", closed_at: at });
      else orders.push(matched.order);
    }
    const next = applyUpdate(state, { token, orders, opened: [], closed, last }, this.config.closed_order_memory, this.#inPlace);
    return { state: next, events };
  }

  /**
   * Cancels an open order (untriggered, resting, or partly filled: the rest is cancelled). A
   * closed or unknown order gives order.cancel_rejected (ORDER_NOT_OPEN / UNKNOWN_ORDER).
   */
  cancel(state: ExchangeState, orderId: string, now: string, reason = "cancelled by request"): ExchangeResult {
    if (!has(state.open, orderId)) {
      const known = findClosed(state, orderId);
      const data = known
        ? { order_id: orderId, reason_code: "ORDER_NOT_OPEN" as const, message: `order ${orderId} is ${known.status}`, order: known.order }
        : { order_id: orderId, reason_code: "UNKNOWN_ORDER" as const, message: `no order ${orderId}` };
      return { state, events: [cancelRejected(data)] };
    }
    const token = state.open[orderId] as number;
    const all = ordersOf(state, token);
    const target = all.find((o) => o.order.order_id === orderId);
    if (!target) throw new Error(`exchange state is corrupt: open order ${orderId} is not in the book of ${token}`);
    const orders = all.filter((o) => o !== target);
    const closed: ClosedOrder = { order: target.order, status: "CANCELLED", closed_at: now };
    const next = applyUpdate(state, { token, orders, opened: [], closed: [closed] }, this.config.closed_order_memory, this.#inPlace);
    return { state: next, events: [cancelled(target.order, reason)] };
  }

  /**
   * Changes a resting order's quantity, type or prices (src/execution/modify.ts): order.modified,
   * and order.filled if it now trades; order.modify_rejected when it is not open, the change is
   * invalid, or the quantity is not above what has filled.
   */
  modify(state: ExchangeState, change: OrderChange, now: string): ExchangeResult {
    return modifyResting(state, change, now, { instrument: this.#instruments, config: this.config, inPlace: this.#inPlace });
  }

  /**
   * One entry point for a worker that dispatches commands.
   *
   * @example
   * exchange.handle(state, { type: "CancelOrder", order_id, now });
   */
  handle(state: ExchangeState, command: ExchangeCommand): ExchangeResult {
    switch (command.type) {
      case "SubmitOrder":
        return this.submit(state, command.order, command.now);
      case "CancelOrder":
        return this.cancel(state, command.order_id, command.now, command.reason);
      case "ModifyOrder":
        return this.modify(state, command.change, command.now);
      case "ApplyTick":
        return this.onTick(state, command.tick, command.now);
    }
  }
}
