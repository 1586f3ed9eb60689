import { describe, expect, test } from "bun:test";
import { REASON_CODES, type ReasonCode, type RiskDecision } from "../../src/risk/index.ts";
import { LAST, NOW, RELIANCE, SECOND, filled, given, killSwitch, pnl, signal, validated, when } from "./spec.ts";

const failedRules = (d: RiskDecision) => d.checks.filter((c) => !c.passed).map((c) => c.rule);

/** Then: rejected with this code, and every check still ran and is listed. */
function rejectedWith(d: RiskDecision, code: ReasonCode) {
  expect(d.outcome).toBe("rejected");
  if (d.outcome !== "rejected") return;
  expect(d.reason_code).toBe(code);
  expect(d.message).toContain(code);
  expect(d.checks.map((c) => c.rule)).toEqual([...REASON_CODES]);
}

describe("a validated signal", () => {
  test("given an active broker, when a sound MARKET BUY arrives, then it is validated with every check listed", () => {
    const d = when(given(), signal());
    expect(d.outcome).toBe("validated");
    expect(d.checks.map((c) => c.rule)).toEqual([...REASON_CODES]);
    expect(d.checks.every((c) => c.passed && typeof c.detail === "string")).toBe(true);
  });

  test("a sound LIMIT and a sound SL pass too", () => {
    expect(when(given(), signal({ order_type: "LIMIT", price: 40_100 })).outcome).toBe("validated");
    expect(when(given(), signal({ order_type: "SL", side: "SELL", price: 39_500, trigger_price: 39_600 })).outcome).toBe("validated");
  });
});

describe("one rejection per rule", () => {
  test("TRADING_HALTED: given the kill switch, then even a reducing order is refused", () => {
    const state = given(filled("BUY", 10), killSwitch("HALTED", "market turmoil"));
    const d = when(state, signal({ side: "SELL", quantity: 10 }));
    rejectedWith(d, "TRADING_HALTED");
    expect(d.checks[0]!.detail).toContain("market turmoil");
  });

  test("REDUCE_ONLY: given REDUCING with a long of 10, then a SELL of 5 passes and a BUY or a flip does not", () => {
    const state = given(filled("BUY", 10), killSwitch("REDUCING"));
    expect(when(state, signal({ side: "SELL", quantity: 5 })).outcome).toBe("validated");
    expect(when(state, signal({ side: "SELL", quantity: 10 })).outcome).toBe("validated");
    rejectedWith(when(state, signal({ side: "BUY", quantity: 1 })), "REDUCE_ONLY");
    rejectedWith(when(state, signal({ side: "SELL", quantity: 15 })), "REDUCE_ONLY");
    rejectedWith(when(given(killSwitch("REDUCING")), signal({ side: "SELL" })), "REDUCE_ONLY");
  });

  test("UNKNOWN_INSTRUMENT: the lot and tick checks cannot run, and say so", () => {
    const d = when(given(), signal(), { instrument: undefined });
    rejectedWith(d, "UNKNOWN_INSTRUMENT");
    expect(failedRules(d)).toEqual(["UNKNOWN_INSTRUMENT", "LOT_SIZE", "TICK_SIZE"]);
  });

  test("INVALID_ORDER: LIMIT without price, SL without trigger, SL-M without trigger, a BUY SL triggering above its limit", () => {
    rejectedWith(when(given(), signal({ order_type: "LIMIT" })), "INVALID_ORDER");
    rejectedWith(when(given(), signal({ order_type: "SL", price: 40_000 })), "INVALID_ORDER");
    rejectedWith(when(given(), signal({ order_type: "SL-M" })), "INVALID_ORDER");
    rejectedWith(when(given(), signal({ order_type: "SL", price: 40_000, trigger_price: 40_100 })), "INVALID_ORDER");
    rejectedWith(when(given(), signal({ order_type: "MARKET", price: 40_000 })), "INVALID_ORDER");
  });

  test("NO_MARKET_PRICE: any order before the first tick, a LIMIT too (its band cannot be checked)", () => {
    rejectedWith(when(given(), signal(), { last_price: undefined }), "NO_MARKET_PRICE");
    rejectedWith(when(given(), signal({ order_type: "SL-M", trigger_price: 40_000, reference_price: undefined }), { last_price: undefined }), "NO_MARKET_PRICE");
    const limit = when(given(), signal({ order_type: "LIMIT", price: 40_000 }), { last_price: undefined });
    rejectedWith(limit, "NO_MARKET_PRICE");
    expect(limit.checks.find((c) => c.rule === "NO_MARKET_PRICE")!.detail).toBe(`no tick yet for ${RELIANCE}: the LIMIT order's price cannot be checked against the market`);
    expect(limit.checks.find((c) => c.rule === "PRICE_BAND")).toMatchObject({ passed: false, detail: "not checked: no last price" });
  });

  test("LOT_SIZE: 30 of a 50-lot contract", () => {
    rejectedWith(when(given(), signal({ quantity: 30 }), { instrument: { tick_size: 5, lot_size: 50 } }), "LOT_SIZE");
  });

  test("TICK_SIZE: ₹400.02 on a 5-paise tick", () => {
    const d = when(given(), signal({ order_type: "LIMIT", price: 40_002 }));
    rejectedWith(d, "TICK_SIZE");
    expect(d.checks.find((c) => c.rule === "TICK_SIZE")!.detail).toContain("₹400.02");
  });

  test("PRICE_BAND: a LIMIT 10% away, a MARKET whose reference is stale by 6%", () => {
    rejectedWith(when(given(), signal({ order_type: "LIMIT", price: 44_000 })), "PRICE_BAND");
    rejectedWith(when(given(), signal({ reference_price: 37_600 })), "PRICE_BAND");
    // Exactly 5% is inside the band.
    expect(when(given(), signal({ order_type: "LIMIT", price: 42_000 })).outcome).toBe("validated");
  });

  test("MAX_QUANTITY: 101 with a limit of 100", () => {
    rejectedWith(when(given(), signal({ quantity: 101 })), "MAX_QUANTITY");
  });

  test("MAX_NOTIONAL: 100 × ₹600 = ₹60,000 over a ₹50,000 limit, valued at the LIMIT price", () => {
    const d = when(given(), signal({ order_type: "LIMIT", quantity: 100, price: 60_000 }), { last_price: 60_000 });
    rejectedWith(d, "MAX_NOTIONAL");
    expect(d.checks.find((c) => c.rule === "MAX_NOTIONAL")!.detail).toContain("₹60000.00");
  });

  test("MAX_POSITION: given a long of 150, a BUY of 60 would make 210 > 200; a SELL of 60 is fine", () => {
    const state = given(filled("BUY", 100), filled("BUY", 50, "other"));
    rejectedWith(when(state, signal({ quantity: 60 })), "MAX_POSITION");
    expect(when(state, signal({ side: "SELL", quantity: 60 })).outcome).toBe("validated");
  });

  test("MAX_ORDERS_PER_DAY: given 3 orders today by this strategy, the 4th is refused; another strategy's is not", () => {
    const state = given(validated("mom", NOW - 60 * SECOND), validated("mom", NOW - 50 * SECOND), validated("mom", NOW - 40 * SECOND));
    rejectedWith(when(state, signal()), "MAX_ORDERS_PER_DAY");
    expect(when(state, signal({ strategy_id: "other" })).outcome).toBe("validated");
  });

  test("DAILY_LOSS_BREACHED: given a breach lifted by an operator, new risk is refused, unwinding is not", () => {
    const state = given(filled("BUY", 10), pnl(-8_000_00, -2_500_00), killSwitch("ACTIVE", "unwind by hand", NOW + SECOND));
    expect(state.trading).toBe("ACTIVE");
    rejectedWith(when(state, signal(), { now: NOW + 2 * SECOND }), "DAILY_LOSS_BREACHED");
    expect(when(state, signal({ side: "SELL", quantity: 10 }), { now: NOW + 2 * SECOND }).outcome).toBe("validated");
  });

  test("RATE_LIMITED: given 2 orders in the last second, a 3rd is throttled; a second later it passes", () => {
    const state = given(validated("a", NOW - 900), validated("b", NOW - 100));
    rejectedWith(when(state, signal()), "RATE_LIMITED");
    expect(when(state, signal(), { now: NOW + 100 }).outcome).toBe("validated");
  });
});

describe("all checks run", () => {
  test("given several problems, then the reason is the first failing rule and all failures are listed", () => {
    const d = when(given(), signal({ order_type: "LIMIT", price: 50_002, quantity: 500 }));
    rejectedWith(d, "TICK_SIZE");
    expect(failedRules(d)).toEqual(["TICK_SIZE", "PRICE_BAND", "MAX_QUANTITY", "MAX_NOTIONAL", "MAX_POSITION"]);
    if (d.outcome === "rejected") expect(d.message.split("; ").length).toBe(5);
  });

  test("HALTED blocks every kind of order", () => {
    const state = given(killSwitch("HALTED"));
    for (const s of [
      signal(),
      signal({ side: "SELL" }),
      signal({ order_type: "LIMIT", price: LAST }),
      signal({ order_type: "SL-M", side: "SELL", trigger_price: LAST - 500 }),
    ]) {
      rejectedWith(when(state, s), "TRADING_HALTED");
    }
  });
});
