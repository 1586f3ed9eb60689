/** After-market orders on the paper exchange: held while the market is closed, released into the book at the open. */
import { describe, expect, test } from "bun:test";
import { PaperExchange, emptyExchangeState, ordersOf, type ExchangeState, type OrderRequest } from "../../src/execution/index.ts";
import { SHIPPED_CALENDAR } from "../../src/market/calendar.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { checkEvent, order, RELIANCE } from "./support.ts";

/** IST wall time as the UTC ISO string every envelope's ts is. */
const ist = (text: string) => new Date(Date.parse(`${text}+05:30`)).toISOString();
const SATURDAY = ist("2026-12-05T20:00:00");
const MONDAY_OPEN = ist("2026-12-07T09:15:00");
const tickAt = (price: number, at: string) => ({ instrument_token: RELIANCE, last_price: price, exchange_ts: at, feed: "test" });

function exchange(hours = true) {
  const ex = new PaperExchange({ slippage_bps: 0 }, { instruments: NSE_MASTER.byToken, ...(hours ? { hours: SHIPPED_CALENDAR } : {}) });
  let state: ExchangeState = emptyExchangeState();
  const events: Array<{ type: string; data: Record<string, unknown>; at?: string }> = [];
  const take = (r: { state: ExchangeState; events: typeof events }) => {
    state = r.state;
    (r.events as never[]).forEach(checkEvent);
    // The book survives persistence (exec_books) unchanged.
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    events.push(...r.events);
    return r.events;
  };
  return {
    submit: (o: OrderRequest, now: string) => take(ex.submit(state, o, now) as never),
    tick: (price: number, at: string) => take(ex.onTick(state, tickAt(price, at), at) as never),
    cancel: (id: string, now: string) => take(ex.cancel(state, id, now) as never),
    modify: (change: Parameters<PaperExchange["modify"]>[1], now: string) => take(ex.modify(state, change, now) as never),
    book: () => ordersOf(state, RELIANCE),
    events,
  };
}

describe("after-market orders (amo)", () => {
  test("given a Saturday, an AMO LIMIT is accepted and rests untouched by weekend ticks and the 09:14:59 tick; the 09:15 tick fills it like a new order", () => {
    const x = exchange();
    x.tick(129_000, ist("2026-12-04T15:29:00"));
    const o = order({ order_id: "amo1", order_type: "LIMIT", price: 129_100, amo: true });
    expect(x.submit(o, SATURDAY).map((e) => e.type)).toEqual(["order.submitted"]);
    expect(x.book()).toMatchObject([{ status: "OPEN", release_at: "2026-12-07T03:45:00.000Z" }]);
    expect(x.tick(128_500, ist("2026-12-06T10:00:00"))).toEqual([]);
    expect(x.tick(128_500, ist("2026-12-07T09:14:59.999"))).toEqual([]);
    const fill = x.tick(128_900, MONDAY_OPEN);
    // Marketable on arrival: the market's price, never worse than its limit.
    expect(fill).toMatchObject([{ type: "order.filled", data: { order_id: "amo1", fill_price: 128_900, status: "FILLED" } }]);
    expect(x.book()).toEqual([]);
  });

  test("a held AMO modified to a marketable price stays held: it is changed where it waits and trades only at the open", () => {
    const x = exchange();
    x.tick(129_000, ist("2026-12-04T15:29:00"));
    x.submit(order({ order_id: "amo3", order_type: "LIMIT", price: 120_000, amo: true }), SATURDAY);
    const changed = x.modify({ order_id: "amo3", instrument_token: RELIANCE, quantity: 5, order_type: "LIMIT", price: 131_000 }, ist("2026-12-06T11:00:00"));
    expect(changed.map((e) => e.type)).toEqual(["order.modified"]);
    expect(x.book()).toMatchObject([{ order: { quantity: 5, price: 131_000 }, filled_quantity: 0, release_at: "2026-12-07T03:45:00.000Z" }]);
    // To MARKET while held: no price is needed until the open.
    expect(x.modify({ order_id: "amo3", instrument_token: RELIANCE, quantity: 5, order_type: "MARKET" }, ist("2026-12-06T12:00:00")).map((e) => e.type)).toEqual(["order.modified"]);
    expect(x.tick(128_000, ist("2026-12-06T13:00:00"))).toEqual([]);
    expect(x.tick(130_000, MONDAY_OPEN)).toMatchObject([{ type: "order.filled", data: { order_id: "amo3", fill_price: 130_000, filled_quantity: 5 } }]);
  });

  test("an AMO MARKET needs no price while it waits: it fills on the first tick of the open", () => {
    const x = exchange();
    const o = order({ order_id: "amo2", amo: true });
    expect(x.submit(o, SATURDAY).map((e) => e.type)).toEqual(["order.submitted"]);
    expect(x.tick(130_000, ist("2026-12-07T09:20:00"))).toMatchObject([{ type: "order.filled", data: { order_id: "amo2", fill_price: 130_000, filled_quantity: 10 } }]);
  });

  test("released AMOs keep their arrival order; one not marketable at the open rests as a plain LIMIT after it", () => {
    const x = exchange();
    x.submit(order({ order_id: "a", order_type: "LIMIT", price: 120_000, amo: true }), SATURDAY);
    x.submit(order({ order_id: "b", order_type: "LIMIT", price: 131_000, amo: true }), ist("2026-12-06T20:00:00"));
    expect(x.tick(130_000, MONDAY_OPEN)).toMatchObject([{ type: "order.filled", data: { order_id: "b" } }]);
    expect(x.book()).toHaveLength(1);
    expect(x.book()[0]!.order.order_id).toBe("a");
    expect(x.book()[0]!.release_at).toBeUndefined();
    expect(x.tick(119_900, ist("2026-12-07T10:00:00"))).toMatchObject([{ type: "order.filled", data: { order_id: "a", fill_price: 120_000 } }]);
  });

  test("a held AMO can be cancelled before the open, and then the open fills nothing", () => {
    const x = exchange();
    x.submit(order({ order_id: "c", amo: true }), SATURDAY);
    expect(x.cancel("c", ist("2026-12-06T09:00:00"))).toMatchObject([{ type: "order.cancelled", data: { order_id: "c" } }]);
    expect(x.tick(130_000, MONDAY_OPEN)).toEqual([]);
  });

  test("an AMO stop waits for the open, then fires only if the market crosses its trigger", () => {
    const x = exchange();
    x.submit(order({ order_id: "s", side: "SELL", order_type: "SL-M", trigger_price: 125_000, amo: true }), SATURDAY);
    expect(x.book()[0]).toMatchObject({ status: "TRIGGER_PENDING", release_at: "2026-12-07T03:45:00.000Z" });
    expect(x.tick(124_000, ist("2026-12-06T12:00:00"))).toEqual([]);
    expect(x.tick(126_000, MONDAY_OPEN)).toEqual([]);
    expect(x.tick(124_900, ist("2026-12-07T09:16:00"))).toMatchObject([{ type: "order.filled", data: { order_id: "s", fill_price: 124_900 } }]);
  });

  test("while the market is open, or with market hours off (no calendar), an AMO trades at once like any order", () => {
    const open = exchange();
    open.tick(129_000, ist("2026-12-07T10:00:00"));
    expect(open.submit(order({ order_id: "o", amo: true }), ist("2026-12-07T10:00:01")).map((e) => e.type)).toEqual(["order.submitted", "order.filled"]);
    const off = exchange(false);
    off.tick(129_000, SATURDAY);
    expect(off.submit(order({ order_id: "f", amo: true }), SATURDAY).map((e) => e.type)).toEqual(["order.submitted", "order.filled"]);
  });

  test("the order's product and amo ride on each of its events", () => {
    const x = exchange();
    x.submit(order({ order_id: "p", product: "CNC", amo: true }), SATURDAY);
    x.tick(130_000, MONDAY_OPEN);
    expect(x.events.map((e) => [e.type, e.data.product, e.data.amo])).toEqual([
      ["order.submitted", "CNC", true],
      ["order.filled", "CNC", true],
    ]);
  });
});
