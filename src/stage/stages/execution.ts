/**
 * The execution stage. `paper` orders go to the paper exchange (src/execution); `zerodha` orders
 * go to Kite Connect (src/kite/venue.ts), whose fills come back as order updates to the gateway. Its inputs (validated
 * signals, ticks, cancel commands, the day's end's cancel of an instrument's open MIS orders) are all keyed by instrument token and co-partitioned, so one
 * worker holds an instrument's open orders. Those are saved to the store (`exec_books`, per
 * instrument: src/store/exec-books.ts) after every batch that changed them, once its events are
 * acknowledged, and loaded again at start and after a rebalance. The store, not the cache: a
 * resting order is state, not a read model, and a Redis flush or restart must not forget it.
 * (Rebuilding the books from the order topics instead would need those topics' whole history and
 * every tick that moved a stop or partly filled an order, and ticks are conflated.)
 *
 * Last prices come only from the ticks this stage consumes (no other stage's cache): after a
 * restart an instrument has none until its next tick, and a MARKET order before it is rejected
 * NO_MARKET_PRICE by the exchange. Every time it stamps is event time: a fill on a tick carries
 * the tick's exchange time (or the order's own last time, when the tick traded before the order
 * arrived: an order's events never go back in time), a submission or cancel (and a fill at
 * submission) the `ts` of the signal or command that caused it; event ids are derived from the
 * cause's id. So the same input gives the same events, byte for byte.
 */
import type { Broker } from "../../config.ts";
import type { AnyEnvelope, Envelope } from "../../events/envelope.ts";
import type { PayloadOf } from "../../events/payloads.ts";
import { derivedId } from "../../events/ids.ts";
import { tickTime, tickTimeMs } from "../../events/time.ts";
import { cancelOpen, emptyExchangeState, PaperExchange, type ExchangeEvent, type ExchangeState } from "../../execution/index.ts";
import type { Consumer, LogMessage } from "../../log/port.ts";
import { brokerOfTopic, topicCarrying, topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";
import { orderEvent, type Lineage } from "./envelopes.ts";
import { KiteVenue } from "../../kite/venue.ts";
import { loadCalendar } from "../../market/calendar.ts";
import { kiteClient } from "../../kite/connect.ts";
import { loadBooks, saveBooks, type SavedBook } from "../../store/exec-books.ts";
import { StagePrices } from "../../store/stage-prices.ts";

type OpenOrders = ExchangeState["book"][string];

/** Where the books were kept before the store held them: read once, to carry them over. */
const legacyBookKey = (b: Broker) => `${b}:exec:book`;

export async function executionStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  // The stage owns its exchange state and keeps only the latest: updated in place, not copied.
  // With MARKET_HOURS=nse an after-market order rests until its exchange's next open.
  const hours = ctx.config.marketHours === "nse" ? loadCalendar(ctx.config.marketCalendarFile) : undefined;
  const exchange = new PaperExchange({}, { instruments: ctx.instruments.byToken, inPlace: true, hours });
  // Config guarantees Kite credentials whenever zerodha is active.
  const kite = brokers.includes("zerodha") && ctx.config.kite ? kiteClient(ctx.config.kite) : undefined;
  const venue = kite ? new KiteVenue(ctx.db, kite, ctx.logger, ctx.instruments) : undefined;
  let state: ExchangeState = emptyExchangeState();
  const lineage = new Map<string, Lineage>();
  const dirty = new Set<string>();
  /** Each instrument's book as last saved (JSON): a tick that changed nothing writes nothing. */
  const savedJson = new Map<string, string>();
  let owned: string | undefined;
  // Its own last prices, saved about once a second of tick time (src/store/stage-prices.ts).
  const prices = new StagePrices(ctx.db, "execution");

  async function load(): Promise<void> {
    // The prices of its own ticks stay: they are the latest it knows.
    state = { ...emptyExchangeState(), last: state.last };
    lineage.clear();
    savedJson.clear();
    if (!brokers.includes("paper")) return;
    // Then the saved ones of instruments it has no tick of (taken over, or a restart). One never
    // saved is missing, never zero: a MARKET order is rejected NO_MARKET_PRICE until a tick.
    for (const [token, price] of await prices.load()) state.last[String(token)] = { price, available: null };
    const books = await loadBooks<OpenOrders[number], Lineage>(ctx.db, "paper");
    for (const b of books.length > 0 ? books : await carryOver()) {
      const token = String(b.token);
      state.book[token] = b.orders;
      for (const o of b.orders) state.open[o.order.order_id] = b.token;
      for (const [id, l] of Object.entries(b.lineage)) lineage.set(id, l);
      savedJson.set(token, bookJson(token));
    }
  }

  /**
   * Books a version that kept them in the cache left there: saved to the store, then removed from
   * the cache, so an upgrade does not forget the orders resting at the time.
   */
  async function carryOver(): Promise<SavedBook<OpenOrders[number], Lineage>[]> {
    const old = await ctx.cache.hgetall(legacyBookKey("paper"));
    const books = Object.entries(old)
      .map(([token, json]) => {
        const s = JSON.parse(json) as { book: OpenOrders; lineage: Record<string, Lineage> };
        return { token: Number(token), orders: s.book, lineage: s.lineage };
      })
      .filter((b) => b.orders.length > 0);
    if (books.length > 0) {
      await saveBooks(ctx.db, "paper", books);
      ctx.logger.info({ instruments: books.length }, "resting orders carried over from the cache to the store");
    }
    if (Object.keys(old).length > 0) await ctx.cache.del(legacyBookKey("paper"));
    return books;
  }

  /** An instrument's book and its orders' lineage as saved. */
  function savedBook(token: string): SavedBook<OpenOrders[number], Lineage> {
    const orders = state.book[token] ?? [];
    return { token: Number(token), orders, lineage: Object.fromEntries(orders.flatMap((o) => (lineage.has(o.order.order_id) ? [[o.order.order_id, lineage.get(o.order.order_id)!]] : []))) };
  }

  const bookJson = (token: string) => JSON.stringify(state.book[token] ?? []);

  /** What the exchange emits, plus the failure this stage raises itself for zerodha. */
  type Emitted = ExchangeEvent | { type: "order.failed"; data: PayloadOf<"order.failed"> };

  /** The events `cause` gave, stamped `ts` (its event time), their ids derived from its id. */
  function emit(events: Emitted[], cause: Envelope, broker: Broker, key: string, ts: string): Outgoing[] {
    return events.map((ev, i) => {
      const orderId = (ev.data as { order_id: string }).order_id;
      const at = "at" in ev && ev.at !== undefined ? ev.at : ts;
      const event = orderEvent(derivedId(cause.id, `execution/${i}`), ev.type as never, ev.data as never, { broker, key, source: "execution", cause, ts: at, lineage: lineage.get(orderId) });
      return { topic: topicName(topicCarrying(ev.type), broker), event };
    });
  }

  await load();

  /** Everything but ticks (which are answered at once, with no promise). */
  async function onOrderFlow(e: AnyEnvelope, m: LogMessage): Promise<Outgoing[]> {
    // The signal's or command's own time: a submission, a cancel and a fill at submission happen then.
    const now = e.ts;
    const broker = brokerOfTopic(m.topic);
    if (broker === "shared") return [];
    if (e.type === "signal.validated") {
      const s = e.data;
      const order = {
        order_id: s.signal_id,
        signal_id: s.signal_id,
        strategy_id: s.strategy_id,
        instrument_token: s.instrument_token,
        side: s.side,
        quantity: s.quantity,
        order_type: s.order_type,
        ...(s.price !== undefined ? { price: s.price } : {}),
        ...(s.trigger_price !== undefined ? { trigger_price: s.trigger_price } : {}),
        ...(s.product !== undefined ? { product: s.product } : {}),
        ...(s.amo ? { amo: true } : {}),
      };
      if (broker === "zerodha") {
        if (!venue) return emit([{ type: "order.failed", data: { ...order, reason_code: "BROKER_NOT_CONNECTED", message: "zerodha is not configured (KITE_* settings)" } }], e, broker, e.key, now);
        lineage.set(order.order_id, { correlation_id: e.correlation_id, trace_id: e.trace_id });
        return emit((await venue.submit(order, { correlation_id: e.correlation_id, trace_id: e.trace_id }, s.product)) as Emitted[], e, broker, e.key, now);
      }
      lineage.set(order.order_id, { correlation_id: e.correlation_id, trace_id: e.trace_id });
      const r = exchange.submit(state, order, now);
      state = r.state;
      dirty.add(String(s.instrument_token));
      return emit(r.events, e, broker, e.key, now);
    }
    if (e.type === "order.modify_validated") {
      const m = e.data;
      if (broker === "zerodha") {
        const refused = { type: "order.modify_rejected" as const, data: { order_id: m.order_id, instrument_token: m.instrument_token, reason_code: "BROKER_NOT_CONNECTED", message: "zerodha is not configured" } };
        return emit((venue ? await venue.modify(m) : [refused]) as Emitted[], e, broker, e.key, now);
      }
      const r = exchange.modify(state, { order_id: m.order_id, instrument_token: m.instrument_token, quantity: m.quantity, order_type: m.order_type, price: m.price, trigger_price: m.trigger_price }, now);
      state = r.state;
      dirty.add(String(m.instrument_token));
      return emit(r.events, e, broker, e.key, now);
    }
    if (e.type === "order.cancel") {
      if (broker === "zerodha") {
        const refused = venue
          ? await venue.cancel(e.data.order_id)
          : [{ type: "order.cancel_rejected", data: { order_id: e.data.order_id, reason_code: "BROKER_NOT_CONNECTED", message: "zerodha is not configured" } }];
        return emit(refused as unknown as ExchangeEvent[], e, broker, e.key, now);
      }
      const r = exchange.cancel(state, e.data.order_id, now, e.data.reason);
      state = r.state;
      dirty.add(String(e.data.instrument_token));
      return emit(r.events, e, broker, e.key, now);
    }
    if (e.type === "order.cancel_open") {
      const { instrument_token: token, product, reason } = e.data;
      if (broker === "zerodha") return venue ? emit((await venue.cancelOpen(token, product)) as unknown as ExchangeEvent[], e, broker, e.key, now) : [];
      const r = cancelOpen(exchange, state, token, product, now, reason);
      state = r.state;
      dirty.add(String(token));
      return emit(r.events, e, broker, e.key, now);
    }
    return [];
  }

  return {
    idempotentTopics: [topicName("marketTicks")],
    // Where no order rests, a tick only sets the last trade a new order is filled against; where
    // one does, every tick may fill it.
    conflation: {
      topics: [topicName("marketTicks")],
      // The length first: most instruments have no book, and hasOwn on a token key is slow.
      mayConflate: (token) => (state.book[token]?.length ?? 0) === 0 || !Object.hasOwn(state.book, token),
      // The same rule as a set, so the main thread leaves the rest out before the batch crosses.
      keysNotConflated: () => Object.keys(state.book).filter((token) => state.book[token]!.length > 0),
    },
    topics: [topicName("marketTicks"), ...brokers.flatMap((b) => [topicName("signalsValidated", b), topicName("orderCommands", b)])],
    async onBatch(consumer: Consumer) {
      const now = JSON.stringify(consumer.assignments().sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition));
      if (now !== owned) {
        // The first assignment finds the state loaded at start; a later one may bring orders
        // another worker kept, saved in the store after its last batch.
        if (owned !== undefined) await load();
        owned = now;
      }
    },
    // Saved only once the batch's events are acknowledged: a book saved ahead of them would, after
    // a crash in between, hold orders whose events were never sent, and the redelivered signal
    // would find its order known and emit nothing.
    async afterSend() {
      await prices.saveIfDue();
      if (dirty.size === 0) return;
      const changed: Array<{ token: string; json: string }> = [];
      for (const token of dirty) {
        const json = bookJson(token);
        if (savedJson.get(token) !== json && !(json === "[]" && !savedJson.has(token))) changed.push({ token, json });
      }
      if (changed.length > 0) {
        await saveBooks(ctx.db, "paper", changed.map((c) => savedBook(c.token)));
        for (const { token, json } of changed) {
          if (json === "[]") savedJson.delete(token);
          else savedJson.set(token, json);
        }
      }
      // Cleared after the write: a failed one is retried whole.
      dirty.clear();
    },
    handle(e, m) {
      if (e.type === "market.tick") {
        if (!brokers.includes("paper")) return [];
        const token = String(e.data.instrument_token);
        const hadOrders = (state.book[token]?.length ?? 0) > 0;
        const now = tickTime(e);
        prices.set(e.data.instrument_token, e.data.last_price, tickTimeMs(e));
        const r = exchange.onTick(state, e.data, now);
        state = r.state;
        if (hadOrders || r.events.length > 0) dirty.add(token);
        return emit(r.events, e, "paper", token, now);
      }
      return onOrderFlow(e, m);
    },
  };
}
