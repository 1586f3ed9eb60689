/**
 * A square-off (a `reduce_only` signal): it passes in every trading state and past the limits that
 * guard against new risk when it reduces the broker's position without crossing zero, and is
 * refused REDUCE_ONLY whenever it would not, whatever else.
 */
import { describe, expect, test } from "bun:test";
import { REASON_CODES, type ReasonCode, type RiskDecision } from "../../src/risk/index.ts";
import { NOW, SECOND, filled, given, killSwitch, pnl, signal, validated, when } from "./spec.ts";

const check = (d: RiskDecision, rule: ReasonCode) => d.checks.find((c) => c.rule === rule)!;

function rejectedWith(d: RiskDecision, code: ReasonCode) {
  expect(d.outcome).toBe("rejected");
  if (d.outcome === "rejected") expect(d.reason_code).toBe(code);
  expect(d.checks.map((c) => c.rule)).toEqual([...REASON_CODES]);
}

const squareOff = (side: "BUY" | "SELL", quantity: number) => signal({ side, quantity, reduce_only: true });

describe("a reduce-only order that reduces passes in every trading state", () => {
  for (const state of ["ACTIVE", "REDUCING", "HALTED"] as const) {
    test(`given a long of 10 and ${state}, when a reduce-only SELL of 10 arrives, then it is validated and REDUCE_ONLY says it reduces`, () => {
      const d = when(given(filled("BUY", 10), killSwitch(state, "desk says stop")), squareOff("SELL", 10));
      expect(d.outcome).toBe("validated");
      expect(check(d, "REDUCE_ONLY").detail).toBe("a reduce-only order: SELL 10 against a position of 10 reduces it");
    });
  }

  test("given HALTED, the kill switch's check passes a reduce-only order and says why; a plain SELL that reduces is still refused", () => {
    const state = given(filled("BUY", 10), killSwitch("HALTED", "market turmoil"));
    const d = when(state, squareOff("SELL", 4));
    expect(check(d, "TRADING_HALTED")).toEqual({
      rule: "TRADING_HALTED",
      passed: true,
      detail: "trading is HALTED: market turmoil; a reduce-only order passes if it reduces (REDUCE_ONLY)",
    });
    rejectedWith(when(state, signal({ side: "SELL", quantity: 4 })), "TRADING_HALTED");
  });

  test("given a short of 30 and REDUCING, a reduce-only BUY of 30 covers it", () => {
    expect(when(given(filled("SELL", 30), killSwitch("REDUCING")), squareOff("BUY", 30)).outcome).toBe("validated");
  });
});

describe("a reduce-only order that would not reduce is refused REDUCE_ONLY in every state", () => {
  for (const state of ["ACTIVE", "REDUCING", "HALTED"] as const) {
    test(`given a long of 10 and ${state}: crossing zero, adding to it, or on a flat instrument`, () => {
      const long = given(filled("BUY", 10), killSwitch(state));
      const crossing = when(long, squareOff("SELL", 15));
      rejectedWith(crossing, "REDUCE_ONLY");
      expect(check(crossing, "REDUCE_ONLY").detail).toBe("a reduce-only order: SELL 15 against a position of 10 does not reduce it");
      rejectedWith(when(long, squareOff("BUY", 1)), "REDUCE_ONLY");
      rejectedWith(when(given(killSwitch(state)), squareOff("SELL", 1)), "REDUCE_ONLY");
    });
  }

  test("the position judged is the broker's in the instrument: one strategy's long against another's short of the same size is flat", () => {
    const state = given(filled("BUY", 10, "mom"), filled("SELL", 10, "other"));
    rejectedWith(when(state, squareOff("SELL", 10)), "REDUCE_ONLY");
  });

  test("crossing zero is REDUCE_ONLY even when limits fail too, and the limits are not waived for it", () => {
    const d = when(given(filled("BUY", 10)), squareOff("SELL", 500));
    rejectedWith(d, "REDUCE_ONLY");
    expect(check(d, "MAX_QUANTITY")).toMatchObject({ passed: false, detail: "quantity 500 exceeds the limit 100" });
  });
});

describe("the limits that guard against new risk pass a reduce-only order that reduces, saying why", () => {
  test("MAX_QUANTITY and MAX_NOTIONAL: 150 × ₹400 = ₹60,000 against limits of 100 and ₹50,000", () => {
    const d = when(given(filled("BUY", 150)), squareOff("SELL", 150));
    expect(d.outcome).toBe("validated");
    expect(check(d, "MAX_QUANTITY").detail).toBe("quantity 150 exceeds the limit 100; passes: a reduce-only SELL 150 reduces the position of 150");
    expect(check(d, "MAX_NOTIONAL").detail).toContain("exceeds the limit ₹50000.00; passes: a reduce-only SELL 150");
    // Without the flag the same order is refused.
    rejectedWith(when(given(filled("BUY", 150)), signal({ side: "SELL", quantity: 150 })), "MAX_QUANTITY");
  });

  test("MAX_ORDERS_PER_DAY and RATE_LIMITED: the strategy's day is used up and the second is full", () => {
    const state = given(filled("BUY", 10), validated("mom", NOW - 900), validated("mom", NOW - 500), validated("mom", NOW - 100));
    rejectedWith(when(state, signal({ side: "SELL", quantity: 10 })), "MAX_ORDERS_PER_DAY");
    const d = when(state, squareOff("SELL", 10));
    expect(d.outcome).toBe("validated");
    expect(check(d, "MAX_ORDERS_PER_DAY").detail).toContain("has 3 orders today, limit 3; passes: a reduce-only SELL 10");
    expect(check(d, "RATE_LIMITED").detail).toContain("3 orders in the last second, limit 2; passes: a reduce-only SELL 10");
  });

  test("DAILY_LOSS_BREACHED: a loss beyond the limit made the broker REDUCING; the square-off passes it, and under a halt too", () => {
    const state = given(filled("BUY", 10), pnl(-8_000_00, -2_500_00));
    expect(state.trading).toBe("REDUCING");
    const d = when(state, squareOff("SELL", 10), { now: NOW + SECOND });
    expect(d.outcome).toBe("validated");
    expect(check(d, "DAILY_LOSS_BREACHED").passed).toBe(true);
    expect(check(d, "REDUCE_ONLY").passed).toBe(true);
    const halted = given(filled("BUY", 10), pnl(-8_000_00, -2_500_00), killSwitch("HALTED"));
    expect(when(halted, squareOff("SELL", 10), { now: NOW + SECOND }).outcome).toBe("validated");
  });
});

describe("a reduce-only order must still be sound", () => {
  test("well-formed, on a known instrument, and priced by a tick", () => {
    const long = given(filled("BUY", 10), killSwitch("HALTED"));
    rejectedWith(when(long, signal({ side: "SELL", quantity: 10, reduce_only: true, order_type: "LIMIT" })), "INVALID_ORDER");
    rejectedWith(when(long, squareOff("SELL", 10), { instrument: undefined }), "UNKNOWN_INSTRUMENT");
    rejectedWith(when(long, squareOff("SELL", 10), { last_price: undefined }), "NO_MARKET_PRICE");
    rejectedWith(when(given(filled("BUY", 60)), squareOff("SELL", 60), { instrument: { tick_size: 5, lot_size: 50 } }), "LOT_SIZE");
  });
});
