import { describe, expect, test } from "bun:test";
import { fees, feesOnTurnover } from "../../src/execution/index.ts";
import { CancelOrder, RELIANCE, SubmitOrder, ApplyTick, fillOf, order, spec, tick } from "./support.ts";

const partial = { slippage_bps: 0, partial_fills: true };

describe("partial fills (partial_fills: true): a tick's last_quantity is the liquidity our orders may take", () => {
  test("a MARKET order fills across ticks; ids are order_id-1, -2, …; charges sum to the whole order's", () => {
    const o = order({ order_id: "o1", quantity: 10 });
    // Charges on cumulative turnover: each fill pays fees(Σ so far) − fees(Σ before).
    const t1 = 3 * 100_00;
    const t2 = t1 + 4 * 100_50;
    const t3 = t2 + 3 * 101_00;
    const f1 = feesOnTurnover("BUY", t1).total;
    const f2 = feesOnTurnover("BUY", t2).total - f1;
    const f3 = feesOnTurnover("BUY", t3).total - f1 - f2;
    spec(partial)
      .given(ApplyTick(tick(RELIANCE, 100_00, 3)))
      .when(SubmitOrder(o), ApplyTick(tick(RELIANCE, 100_50, 4)), ApplyTick(tick(RELIANCE, 101_00, 100)))
      .then([
        { type: "order.submitted", data: o },
        fillOf(o, { fill_price: 100_00, fill_quantity: 3, filled_quantity: 3, fees: f1, seq: 1 }),
        fillOf(o, { fill_price: 100_50, fill_quantity: 4, filled_quantity: 7, fees: f2, seq: 2 }),
        fillOf(o, { fill_price: 101_00, fill_quantity: 3, filled_quantity: 10, fees: f3, seq: 3 }),
      ]);
    expect(f1 + f2 + f3).toBe(feesOnTurnover("BUY", t3).total);
  });

  test("the brokerage cap is per order, not per fill", () => {
    // 3 fills of 1_000 × ₹1000 = ₹10 lakh each: 0.03% would be ₹300 each; the order pays ₹20 once.
    const o = order({ order_id: "big", quantity: 3_000 });
    const { events } = spec(partial)
      .given(ApplyTick(tick(RELIANCE, 1_000_00, 1_000)))
      .when(SubmitOrder(o), ApplyTick(tick(RELIANCE, 1_000_00, 1_000)), ApplyTick(tick(RELIANCE, 1_000_00, 1_000)))
      .then((events) => expect(events).toHaveLength(4));
    const charged = events.reduce((sum, e) => sum + (e.type === "order.filled" ? e.data.fees : 0), 0);
    expect(charged).toBe(fees("BUY", 1_000_00, 3_000).total);
    expect(fees("BUY", 1_000_00, 3_000).brokerage).toBe(2_000);
  });

  test("one tick's liquidity is shared in arrival order", () => {
    const a = order({ order_id: "a", order_type: "LIMIT", price: 99_00, quantity: 5 });
    const b = order({ order_id: "b", order_type: "LIMIT", price: 99_00, quantity: 5 });
    spec(partial)
      .given(ApplyTick(tick(RELIANCE, 100_00)), SubmitOrder(a), SubmitOrder(b))
      .when(ApplyTick(tick(RELIANCE, 99_00, 7)))
      .then([
        fillOf(a, { fill_price: 99_00, fill_quantity: 5, filled_quantity: 5, fees: fees("BUY", 99_00, 5).total }),
        fillOf(b, { fill_price: 99_00, fill_quantity: 2, filled_quantity: 2, fees: fees("BUY", 99_00, 2).total }),
      ]);
  });

  test("liquidity a fill took at submit is gone for the next order on the same tick", () => {
    const a = order({ order_id: "a", quantity: 4 });
    const b = order({ order_id: "b", quantity: 4 });
    spec(partial)
      .given(ApplyTick(tick(RELIANCE, 100_00, 6)))
      .when(SubmitOrder(a), SubmitOrder(b))
      .then((events) =>
        expect(events.map((e) => (e.type === "order.filled" ? [e.data.order_id, e.data.fill_quantity] : e.type))).toEqual([
          "order.submitted",
          ["a", 4],
          "order.submitted",
          ["b", 2],
        ]),
      );
  });

  test("a tick without last_quantity does not cap", () => {
    const o = order({ order_id: "o1", quantity: 10 });
    spec(partial)
      .given(ApplyTick(tick(RELIANCE, 100_00, 2)), SubmitOrder(o))
      .when(ApplyTick(tick(RELIANCE, 100_00)))
      .then([fillOf(o, { fill_price: 100_00, fill_quantity: 8, filled_quantity: 10, fees: feesOnTurnover("BUY", 10 * 100_00).total - feesOnTurnover("BUY", 2 * 100_00).total, seq: 2 })]);
  });

  test("fills are whole lots", () => {
    const lot25 = { instruments: (t: number) => (t === 7 ? { instrument_token: 7, tick_size: 5, lot_size: 25 } : undefined) };
    const o = order({ order_id: "o1", instrument_token: 7, quantity: 100 });
    spec(partial, lot25)
      .given(ApplyTick(tick(7, 100_00, 60)))
      .when(SubmitOrder(o), ApplyTick(tick(7, 100_00, 10)))
      .then((events) => expect(events.filter((e) => e.type === "order.filled").map((e) => e.data.fill_quantity)).toEqual([50]));
  });

  test("cancelling a partly filled order cancels the rest", () => {
    const o = order({ order_id: "o1", quantity: 10 });
    spec(partial)
      .given(ApplyTick(tick(RELIANCE, 100_00, 3)), SubmitOrder(o))
      .when(CancelOrder("o1"), ApplyTick(tick(RELIANCE, 100_00, 100)))
      .then([{ type: "order.cancelled", data: { ...o, reason: "cancelled by request" } }]);
  });

  test("with partial fills off, last_quantity is ignored", () => {
    const o = order({ order_id: "o1", quantity: 10 });
    spec({ slippage_bps: 0 })
      .given(ApplyTick(tick(RELIANCE, 100_00, 1)))
      .when(SubmitOrder(o))
      .then((events) => expect(events[1]?.data).toMatchObject({ fill_quantity: 10, status: "FILLED" }));
  });
});
