/** Risk on a modify, Given/When/Then: the order as it would be after the change, judged like a new one. */
import { describe, expect, test } from "bun:test";
import { SHIPPED_CALENDAR } from "../../src/market/calendar.ts";
import { decideModify, modifiedSignal, riskContext, type ModifyRequest, type RiskState } from "../../src/risk/index.ts";
import { EQUITY, LAST, NOW, RELIANCE, filled, given, killSwitch, validated } from "./spec.ts";

const modify = (over: Partial<ModifyRequest> = {}): ModifyRequest => ({
  order_id: "ord-1",
  signal_id: "ord-1",
  strategy_id: "mom",
  instrument_token: RELIANCE,
  side: "BUY",
  quantity: 10,
  order_type: "LIMIT",
  price: LAST - 500,
  filled_quantity: 0,
  changed: ["quantity"],
  ...over,
});

const when = (state: RiskState, m: ModifyRequest) => decideModify(m, state, riskContext(state, modifiedSignal(m), { instrument: EQUITY, last_price: LAST }, NOW));
const check = (d: ReturnType<typeof when>, rule: string) => d.checks.find((c) => c.rule === rule)!;

describe("a modify is judged like the order it would make", () => {
  test("given nothing, when a modify keeps the order within the limits, then it is validated", () => {
    expect(when(given(), modify()).outcome).toBe("validated");
  });

  test("given a 10-unit order, when it is modified to 10,000, then it is rejected MAX_QUANTITY (and MAX_NOTIONAL)", () => {
    const d = when(given(), modify({ quantity: 10_000 }));
    expect(d).toMatchObject({ outcome: "rejected", reason_code: "MAX_QUANTITY" });
    expect(check(d, "MAX_NOTIONAL").passed).toBe(false);
  });

  test("given a modify to a price off the grid or far from the market, then TICK_SIZE or PRICE_BAND", () => {
    expect(when(given(), modify({ price: LAST + 3 }))).toMatchObject({ outcome: "rejected", reason_code: "TICK_SIZE" });
    expect(when(given(), modify({ price: LAST * 2 }))).toMatchObject({ outcome: "rejected", reason_code: "PRICE_BAND" });
  });

  test("given trading HALTED, when an order is modified, then it is rejected TRADING_HALTED", () => {
    expect(when(given(killSwitch("HALTED")), modify())).toMatchObject({ outcome: "rejected", reason_code: "TRADING_HALTED" });
  });
});

describe("what differs from a new order", () => {
  test("given the strategy's orders for the day all used, when one of them is modified, then the count passes: it was counted when placed", () => {
    const d = when(given(validated("mom", NOW - 30_000), validated("mom", NOW - 20_000), validated("mom", NOW - 10_000)), modify());
    expect(d.outcome).toBe("validated");
    expect(check(d, "MAX_ORDERS_PER_DAY")).toEqual({ rule: "MAX_ORDERS_PER_DAY", passed: true, detail: "a modify: the order was counted when it was placed" });
  });

  test("given 150 filled of a 160 order (limit ±200), when it is raised to 190, then the position sees only the 40 left: 150 → 190 passes", () => {
    const state = given(filled("BUY", 150));
    const d = when(state, modify({ quantity: 190, filled_quantity: 150, price: LAST - 5 }));
    // MAX_QUANTITY (100) still judges the whole order: the limit is per order.
    expect(check(d, "MAX_POSITION")).toMatchObject({ passed: true, detail: "position 150 → 190, limit ±200" });
    expect(check(d, "MAX_QUANTITY").passed).toBe(false);
  });

  test("given REDUCING and a long position, when a SELL order's rest still reduces it, then it passes REDUCE_ONLY", () => {
    const state = given(filled("BUY", 50), killSwitch("REDUCING"));
    const d = when(state, modify({ side: "SELL", quantity: 60, filled_quantity: 20, price: LAST + 5 }));
    expect(check(d, "REDUCE_ONLY")).toMatchObject({ passed: true });
    expect(d.outcome).toBe("validated");
  });
});

describe("a modify under market hours (MARKET_HOURS=nse)", () => {
  const ist = (text: string) => Date.parse(`${text}+05:30`);
  const underHours = (m: ModifyRequest, now: number) =>
    decideModify(m, given(), riskContext(given(), modifiedSignal(m), { instrument: { ...EQUITY, exchange: "NSE" }, last_price: LAST, hours: SHIPPED_CALENDAR }, now));

  test("given an after-market order held over the weekend, when it is modified on Sunday, then it passes: it still waits for the open", () => {
    const d = underHours(modify({ amo: true }), ist("2026-12-06T11:00:00"));
    expect(d.outcome).toBe("validated");
  });

  test("given an after-market order released at the open, when it is modified while the market is open, then it passes (no AMO_MARKET_OPEN)", () => {
    const d = underHours(modify({ amo: true }), ist("2026-12-07T10:00:00"));
    expect(d.outcome).toBe("validated");
  });

  test("given a regular order, when it is modified on Sunday, then it is rejected MARKET_CLOSED", () => {
    const d = underHours(modify(), ist("2026-12-06T11:00:00"));
    expect(d).toMatchObject({ outcome: "rejected", reason_code: "MARKET_CLOSED" });
  });
});
