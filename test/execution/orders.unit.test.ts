import { describe, expect, test } from "bun:test";
import { fees, slippedPrice } from "../../src/execution/index.ts";
import { CancelOrder, NOW, RELIANCE, SubmitOrder, TCS, ApplyTick, fillOf, order, spec, tick } from "./support.ts";

const feeOf = (side: "BUY" | "SELL", price: number, qty: number) => fees(side, price, qty).total;

describe("MARKET", () => {
  test("BUY fills at once at last + slippage, rounded up to the tick grid", () => {
    // 129_045 × 1.0002 = 129_070.809 → up to the 5-paise grid → 129_075
    const o = order({ order_id: "o1", side: "BUY" });
    spec({ slippage_bps: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_075, fees: feeOf("BUY", 129_075, 10) })]);
  });

  test("SELL fills at last − slippage, rounded down to the tick grid", () => {
    // 129_045 × 0.9998 = 129_019.191 → down to the grid → 129_015
    const o = order({ order_id: "o1", side: "SELL" });
    spec({ slippage_bps: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_015, fees: feeOf("SELL", 129_015, 10) })]);
  });

  test("without slippage it fills at the last price", () => {
    const o = order({ order_id: "o1" });
    spec({ slippage_bps: 0 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_045, fees: feeOf("BUY", 129_045, 10) })]);
  });

  test("no last price: rejected NO_MARKET_PRICE, and a tick later does not revive it", () => {
    const o = order({ order_id: "o1" });
    spec()
      .given(ApplyTick(tick(TCS, 412_005)))
      .when(SubmitOrder(o), ApplyTick(tick(RELIANCE, 129_045)))
      .then([{ type: "order.rejected", data: { ...o, reason_code: "NO_MARKET_PRICE", message: `no last price for instrument ${RELIANCE} yet` } }]);
  });

  test("slippage rounding on and off the grid", () => {
    expect(slippedPrice("BUY", 100_00, 0, 5)).toBe(100_00);
    expect(slippedPrice("BUY", 100_00, 10, 5)).toBe(100_10); // +10 paise exactly, on the grid
    expect(slippedPrice("SELL", 100_00, 10, 5)).toBe(99_90);
    expect(slippedPrice("BUY", 100_00, 1, 5)).toBe(100_05); // +1 paisa, up to the next tick
    expect(slippedPrice("SELL", 100_00, 1, 5)).toBe(99_95); // −1 paisa, down to the next tick
    expect(slippedPrice("BUY", 100_02, 0, 5)).toBe(100_05); // an off-grid last goes against the trader too
    expect(slippedPrice("SELL", 100_02, 0, 5)).toBe(100_00);
    expect(slippedPrice("SELL", 5, 1_000, 5)).toBe(5); // never below one tick
  });
});

describe("LIMIT", () => {
  test("marketable BUY fills at once at the market (with slippage), never above the limit", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 129_100 });
    spec({ slippage_bps: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_075, fees: feeOf("BUY", 129_075, 10) })]);
  });

  test("marketable BUY whose slipped price passes the limit fills at the limit", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 129_050 });
    spec({ slippage_bps: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_050, fees: feeOf("BUY", 129_050, 10) })]);
  });

  test("marketable SELL fills at max(limit, slipped market)", () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "LIMIT", price: 129_000 });
    spec({ slippage_bps: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_015, fees: feeOf("SELL", 129_015, 10) })]);
  });

  test("a BUY below the market rests; a tick above it does nothing; a tick at it fills at the limit", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 128_900 });
    const resting = spec({ slippage_bps: 2 }).given(ApplyTick(tick(RELIANCE, 129_045)));
    resting.when(SubmitOrder(o), ApplyTick(tick(RELIANCE, 128_950))).then([{ type: "order.submitted", data: o }]);
    resting
      .when(SubmitOrder(o), ApplyTick(tick(RELIANCE, 128_950)), ApplyTick(tick(RELIANCE, 128_900)))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 128_900, fees: feeOf("BUY", 128_900, 10) })]);
  });

  test("a resting limit crossed by a gap fills at its limit price, not the better last", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 128_900 });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o))
      .when(ApplyTick(tick(RELIANCE, 128_000)))
      .then([fillOf(o, { fill_price: 128_900, fees: feeOf("BUY", 128_900, 10) })]);
  });

  test("a SELL above the market rests until a tick reaches it", () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "LIMIT", price: 129_500 });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o), ApplyTick(tick(RELIANCE, 129_495)))
      .when(ApplyTick(tick(RELIANCE, 129_600)))
      .then([fillOf(o, { fill_price: 129_500, fees: feeOf("SELL", 129_500, 10) })]);
  });

  test("with no last price a limit rests (it cannot be marketable), then fills on the first crossing tick", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 129_000 });
    spec()
      .given(SubmitOrder(o), ApplyTick(tick(RELIANCE, 129_005)))
      .when(ApplyTick(tick(RELIANCE, 129_000)))
      .then([fillOf(o, { fill_price: 129_000, fees: feeOf("BUY", 129_000, 10) })]);
  });

  test("a tick on another instrument leaves the book untouched", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 128_900 });
    const given = spec().given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o));
    const { state } = given.when(ApplyTick(tick(TCS, 1_00))).then([]);
    expect(state.book).toBe(given.state.book);
  });
});

describe("stops", () => {
  test("SL-M SELL: nothing before the trigger, then a market fill (with slippage) when last ≤ trigger", () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "SL-M", trigger_price: 128_500 });
    const given = spec({ slippage_bps: 2 }).given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o));
    const before = given.when(ApplyTick(tick(RELIANCE, 128_600)), ApplyTick(tick(RELIANCE, 128_505)), ApplyTick(tick(RELIANCE, 129_900))).then([]);
    expect(before.state.book[String(RELIANCE)]?.[0]?.status).toBe("TRIGGER_PENDING");
    // 128_500 × 0.9998 = 128_474.3 → down to the grid → 128_470
    given
      .when(ApplyTick(tick(RELIANCE, 128_600)), ApplyTick(tick(RELIANCE, 128_500)))
      .then([fillOf(o, { fill_price: 128_470, fees: feeOf("SELL", 128_470, 10) })]);
  });

  test("SL-M BUY fires when last ≥ trigger", () => {
    const o = order({ order_id: "o1", side: "BUY", order_type: "SL-M", trigger_price: 130_000 });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o), ApplyTick(tick(RELIANCE, 129_995)))
      .when(ApplyTick(tick(RELIANCE, 130_010)))
      .then([fillOf(o, { fill_price: 130_010, fees: feeOf("BUY", 130_010, 10) })]);
  });

  test("SL BUY: fires, and its limit is marketable on the firing tick: market price capped at the limit", () => {
    const o = order({ order_id: "o1", side: "BUY", order_type: "SL", trigger_price: 129_500, price: 129_600 });
    // 129_550 × 1.0002 = 129_575.91 → 129_580 ≤ limit 129_600
    spec({ slippage_bps: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o), ApplyTick(tick(RELIANCE, 129_400)))
      .when(ApplyTick(tick(RELIANCE, 129_550)))
      .then([fillOf(o, { fill_price: 129_580, fees: feeOf("BUY", 129_580, 10) })]);
  });

  test("SL SELL that gaps past its limit: fires, rests as a LIMIT, fills at the limit when a tick reaches it", () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "SL", trigger_price: 128_500, price: 128_450 });
    const given = spec().given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o));
    const fired = given.when(ApplyTick(tick(RELIANCE, 128_400))).then([]);
    expect(fired.state.book[String(RELIANCE)]?.[0]).toMatchObject({ status: "OPEN", working: "LIMIT" });
    given
      .when(ApplyTick(tick(RELIANCE, 128_400)), ApplyTick(tick(RELIANCE, 128_445)), ApplyTick(tick(RELIANCE, 128_460)))
      .then([fillOf(o, { fill_price: 128_450, fees: feeOf("SELL", 128_450, 10) })]);
  });

  test("a stop already crossed on arrival is rejected, as Kite does", () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "SL-M", trigger_price: 129_100 });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([
        {
          type: "order.rejected",
          data: { ...o, reason_code: "TRIGGER_ALREADY_CROSSED", message: "SELL stop trigger 129100 is already crossed by the last price 129045" },
        },
      ]);
  });

  test('…or fires at once with stop_already_triggered: "trigger"', () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "SL-M", trigger_price: 129_100 });
    spec({ slippage_bps: 0, stop_already_triggered: "trigger" })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(o))
      .then([{ type: "order.submitted", data: o }, fillOf(o, { fill_price: 129_045, fees: feeOf("SELL", 129_045, 10) })]);
  });

  test("a stop submitted before any tick waits for one", () => {
    const o = order({ order_id: "o1", side: "BUY", order_type: "SL-M", trigger_price: 130_000 });
    spec()
      .given(SubmitOrder(o), ApplyTick(tick(RELIANCE, 129_000)))
      .when(ApplyTick(tick(RELIANCE, 130_000)))
      .then([fillOf(o, { fill_price: 130_000, fees: feeOf("BUY", 130_000, 10) })]);
  });
});

describe("validation: business rejections are events, not exceptions", () => {
  const lot50 = { instruments: (t: number) => (t === 1 ? { instrument_token: 1, tick_size: 5, lot_size: 50 } : undefined) };
  const reasonOf = (events: { type: string; data: unknown }[]) => (events[0]?.data as { reason_code?: string }).reason_code;
  const cases: Array<[string, Parameters<typeof order>[0], string]> = [
    ["unknown instrument", { order_id: "a", instrument_token: 2 }, "UNKNOWN_INSTRUMENT"],
    ["quantity not a lot multiple", { order_id: "b", instrument_token: 1, quantity: 75 }, "INVALID_QUANTITY"],
    ["LIMIT without price", { order_id: "c", instrument_token: 1, quantity: 50, order_type: "LIMIT" }, "PRICE_REQUIRED"],
    ["SL without trigger", { order_id: "d", instrument_token: 1, quantity: 50, order_type: "SL", price: 100 }, "TRIGGER_PRICE_REQUIRED"],
    ["SL-M without trigger", { order_id: "e", instrument_token: 1, quantity: 50, order_type: "SL-M" }, "TRIGGER_PRICE_REQUIRED"],
    ["price off the grid", { order_id: "f", instrument_token: 1, quantity: 50, order_type: "LIMIT", price: 101 }, "PRICE_NOT_ON_TICK"],
    ["trigger off the grid", { order_id: "g", instrument_token: 1, quantity: 50, order_type: "SL-M", trigger_price: 99 }, "PRICE_NOT_ON_TICK"],
  ];
  for (const [name, o, reason] of cases) {
    test(name, () => {
      spec({}, lot50)
        .given(ApplyTick(tick(1, 100)))
        .when(SubmitOrder(order(o)))
        .then((events) => {
          expect(events).toHaveLength(1);
          expect(events[0]?.type).toBe("order.rejected");
          expect(reasonOf(events)).toBe(reason);
        });
    });
  }

  test("the same order id twice changes nothing the second time (a redelivered command)", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 128_900 });
    const given = spec().given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o));
    const again = given.when(SubmitOrder(o)).then([]);
    expect(again.state).toBe(given.state);
    // also after it closed
    spec().given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(order({ order_id: "m" }))).when(SubmitOrder(order({ order_id: "m" }))).then([]);
  });
});

describe("cancel", () => {
  test("an open limit is cancelled, and a later crossing tick no longer fills it", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 128_900 });
    const { state } = spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o))
      .when(CancelOrder("o1"), ApplyTick(tick(RELIANCE, 128_000)))
      .then([{ type: "order.cancelled", data: { ...o, reason: "cancelled by request" } }]);
    expect(state.book).toEqual({});
    expect(state.open).toEqual({});
    expect(state.closed).toEqual([{ order: o, status: "CANCELLED", closed_at: NOW }]);
  });

  test("an untriggered stop is cancelled", () => {
    const o = order({ order_id: "o1", side: "SELL", order_type: "SL-M", trigger_price: 128_500 });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o))
      .when(CancelOrder("o1"), ApplyTick(tick(RELIANCE, 128_000)))
      .then([{ type: "order.cancelled", data: { ...o, reason: "cancelled by request" } }]);
  });

  test("a filled order: order.cancel_rejected ORDER_NOT_OPEN (not order.rejected: the order is not rejected)", () => {
    const o = order({ order_id: "o1" });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o))
      .when(CancelOrder("o1"))
      .then([{ type: "order.cancel_rejected", data: { order_id: "o1", reason_code: "ORDER_NOT_OPEN", message: "order o1 is FILLED", order: o } }]);
  });

  test("cancelling twice: the second is ORDER_NOT_OPEN", () => {
    const o = order({ order_id: "o1", order_type: "LIMIT", price: 128_900 });
    spec()
      .given(ApplyTick(tick(RELIANCE, 129_045)), SubmitOrder(o), CancelOrder("o1"))
      .when(CancelOrder("o1"))
      .then((events) => expect(events.map((e) => [e.type, (e.data as { reason_code?: string }).reason_code])).toEqual([["order.cancel_rejected", "ORDER_NOT_OPEN"]]));
  });

  test("an unknown order: UNKNOWN_ORDER", () => {
    spec()
      .given()
      .when(CancelOrder("nope"))
      .then([{ type: "order.cancel_rejected", data: { order_id: "nope", reason_code: "UNKNOWN_ORDER", message: "no order nope" } }]);
  });

  test("closed orders are remembered only up to closed_order_memory", () => {
    const { state } = spec({ slippage_bps: 0, closed_order_memory: 2 })
      .given(ApplyTick(tick(RELIANCE, 129_045)))
      .when(SubmitOrder(order({ order_id: "a" })), SubmitOrder(order({ order_id: "b" })), SubmitOrder(order({ order_id: "c" })))
      .then((events) => expect(events).toHaveLength(6));
    expect(state.closed.map((c) => c.order.order_id)).toEqual(["b", "c"]);
  });

  test("ids such as __proto__ and constructor are just ids", () => {
    for (const id of ["__proto__", "constructor", "hasOwnProperty"]) {
      const o = order({ order_id: id, order_type: "LIMIT", price: 128_900 });
      spec()
        .given(ApplyTick(tick(RELIANCE, 129_045)))
        .when(CancelOrder(id), SubmitOrder(o), CancelOrder(id))
        .then((events) =>
          expect(events.map((e) => e.type)).toEqual(["order.cancel_rejected", "order.submitted", "order.cancelled"]),
        );
    }
  });
});
