/** Modifying a resting order on the paper exchange, Given/When/Then. */
import { describe, expect, test } from "bun:test";
import { fees, ordersOf } from "../../src/execution/index.ts";
import { ApplyTick, CancelOrder, ModifyOrder, RELIANCE, SubmitOrder, fillOf, order, spec, tick } from "./support.ts";

const feeOf = (side: "BUY" | "SELL", price: number, qty: number) => fees(side, price, qty).total;
const restingIds = (state: Parameters<typeof ordersOf>[0]) => ordersOf(state, RELIANCE).map((o) => o.order.order_id);

describe("a resting order changes in place", () => {
  const far = order({ order_id: "o1", order_type: "LIMIT", price: 90_000 });

  test("a price moved to the market fills at once, at the market, never worse than the new limit", () => {
    spec()
      .given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(far))
      .when(ModifyOrder(far, { price: 100_500 }))
      .then([
        { type: "order.modified", data: { ...far, price: 100_500 } },
        fillOf({ ...far, price: 100_500 }, { fill_price: 100_000, fees: feeOf("BUY", 100_000, 10) }),
      ]);
  });

  test("a price still away from the market rests at the new price, and a later tick fills it there", () => {
    const moved = { ...far, price: 95_000 };
    spec()
      .given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(far))
      .when(ModifyOrder(far, { price: 95_000 }), ApplyTick(tick(RELIANCE, 94_000)))
      .then([{ type: "order.modified", data: moved }, fillOf(moved, { fill_price: 95_000, fees: feeOf("BUY", 95_000, 10) })]);
  });

  test("a lower quantity keeps time priority; a higher one or a new price goes to the back", () => {
    const a = order({ order_id: "a", order_type: "LIMIT", price: 90_000 });
    const b = order({ order_id: "b", order_type: "LIMIT", price: 90_000 });
    const given = spec().given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(a), SubmitOrder(b));
    expect(restingIds(given.when(ModifyOrder(a, { quantity: 4 })).state)).toEqual(["a", "b"]);
    expect(restingIds(given.when(ModifyOrder(a, { quantity: 12 })).state)).toEqual(["b", "a"]);
    expect(restingIds(given.when(ModifyOrder(a, { price: 89_995 })).state)).toEqual(["b", "a"]);
    // The same modify handled twice (a redelivery after a crash): the second changes nothing, not even the place.
    const c = order({ order_id: "c", order_type: "LIMIT", price: 90_000 });
    const again = given.when(ModifyOrder(a, { price: 89_995 }), SubmitOrder(c), ModifyOrder(a, { price: 89_995 }));
    expect(restingIds(again.state)).toEqual(["b", "a", "c"]);
    expect(again.events.map((e) => e.type)).toEqual(["order.modified", "order.submitted", "order.modified"]);
    expect(restingIds(given.when(ModifyOrder(a, {})).state)).toEqual(["a", "b"]);
    const shrunk = given.when(ModifyOrder(a, { quantity: 4 }));
    expect(ordersOf(shrunk.state, RELIANCE)[0]!.order.quantity).toBe(4);
    expect(shrunk.events).toEqual([{ type: "order.modified", data: { ...a, quantity: 4 } }]);
  });

  test("a LIMIT made MARKET fills at once; made SL it waits for its trigger", () => {
    spec()
      .given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(far))
      .when(ModifyOrder(far, { order_type: "MARKET", price: undefined }))
      .then((events) => expect(events.map((e) => e.type)).toEqual(["order.modified", "order.filled"]));
    spec()
      .given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(far))
      .when(ModifyOrder(far, { order_type: "SL", price: 101_000, trigger_price: 100_500 }), ApplyTick(tick(RELIANCE, 100_200)), ApplyTick(tick(RELIANCE, 100_600)))
      .then((events) => expect(events.map((e) => [e.type, (e.data as { fill_price?: number }).fill_price])).toEqual([["order.modified", undefined], ["order.filled", 100_600]]));
  });
});

describe("a modify that cannot apply is refused and changes nothing", () => {
  const far = order({ order_id: "o1", order_type: "LIMIT", price: 90_000, quantity: 10 });

  test("quantity not above what has filled: BELOW_FILLED_QUANTITY", () => {
    const partial = spec({ slippage_bps: 0, partial_fills: true })
      .given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(far), ApplyTick(tick(RELIANCE, 89_000, 6)));
    expect(ordersOf(partial.state, RELIANCE)[0]!.filled_quantity).toBe(6);
    const r = partial.when(ModifyOrder(far, { quantity: 5 }));
    expect(r.events).toEqual([
      { type: "order.modify_rejected", data: { order_id: "o1", instrument_token: RELIANCE, reason_code: "BELOW_FILLED_QUANTITY", message: "quantity 5 is not above the 6 already filled: cancel the rest instead" } },
    ]);
    expect(ordersOf(r.state, RELIANCE)[0]!.order.quantity).toBe(10);
    // Above what has filled: the rest is the difference, and it fills on the next tick.
    partial.when(ModifyOrder(far, { quantity: 8 }), ApplyTick(tick(RELIANCE, 89_000))).then((events) => {
      expect(events.map((e) => e.type)).toEqual(["order.modified", "order.filled"]);
      expect(events[1]!.data).toMatchObject({ fill_quantity: 2, filled_quantity: 8, status: "FILLED" });
    });
  });

  test("a filled, cancelled or unknown order: ORDER_NOT_OPEN or UNKNOWN_ORDER", () => {
    const market = order({ order_id: "m1" });
    spec()
      .given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(market), SubmitOrder(far), CancelOrder("o1"))
      .when(ModifyOrder(market, { quantity: 5 }), ModifyOrder(far, { price: 91_000 }), ModifyOrder(order({ order_id: "nope" }), { quantity: 2 }))
      .then((events) =>
        expect(events.map((e) => [e.type, (e.data as { reason_code: string }).reason_code, (e.data as { message: string }).message])).toEqual([
          ["order.modify_rejected", "ORDER_NOT_OPEN", "order m1 is FILLED"],
          ["order.modify_rejected", "ORDER_NOT_OPEN", "order o1 is CANCELLED"],
          ["order.modify_rejected", "UNKNOWN_ORDER", "no order nope"],
        ]),
      );
  });

  test("a change the exchange would refuse on a new order: off the tick grid, a price its type needs", () => {
    const given = spec().given(ApplyTick(tick(RELIANCE, 100_000)), SubmitOrder(far));
    const off = given.when(ModifyOrder(far, { price: 90_003 }));
    expect(off.events.map((e) => (e.data as { reason_code?: string }).reason_code)).toEqual(["PRICE_NOT_ON_TICK"]);
    const noTrigger = given.when(ModifyOrder(far, { order_type: "SL" }));
    expect(noTrigger.events.map((e) => (e.data as { reason_code?: string }).reason_code)).toEqual(["TRIGGER_PRICE_REQUIRED"]);
    expect(ordersOf(noTrigger.state, RELIANCE)[0]!.order).toEqual(far);
  });
});
