/**
 * Risk's own fold (src/risk/fold.ts), Given/When/Then with no infrastructure: positions and the
 * day's P&L from the fills and ticks it consumes, by the portfolio's own fold; a breach by a fall
 * in price halts; the IST day, the counters and the throttle by event time; a redelivered fill
 * or signal is not counted twice; and what is saved restores the same state.
 */
import { describe, expect, test } from "bun:test";
import { snapshot, type PortfolioFill } from "../../src/portfolio/index.ts";
import { dayPnl, emptyFold, foldFill, foldTick, foldValidated, initialRiskState, restore, rowOf, type RiskFold, type RiskState } from "../../src/risk/index.ts";
import { LIMITS, NOW, RELIANCE, SECOND, signal, when } from "./spec.ts";

const TCS = 2953217;
/** 23:59:59.999 IST on Monday 6 January 2025, and midnight IST on the 7th. */
const LAST_MS_OF_DAY = Date.parse("2025-01-06T18:29:59.999Z");
const MIDNIGHT_IST = Date.parse("2025-01-06T18:30:00.000Z");

const fill = (side: "BUY" | "SELL", quantity: number, price: number, over: Partial<PortfolioFill> = {}): PortfolioFill => ({
  strategy_id: "mom",
  instrument_token: RELIANCE,
  side,
  fill_quantity: quantity,
  fill_price: price,
  fees: 0,
  ...over,
});

/** A broker's fold and rules' state, with the test's limits. */
function book(): { fold: RiskFold; state: RiskState } {
  return { fold: emptyFold("paper"), state: initialRiskState(LIMITS) };
}

describe("positions and the day's P&L, from fills and ticks", () => {
  test("given two strategies' fills and a tick, then positions, P&L and fees are the portfolio's", () => {
    const b = book();
    b.state = foldFill(b.fold, b.state, fill("BUY", 10, 400_00, { fees: 20_00 }), NOW);
    b.state = foldFill(b.fold, b.state, fill("SELL", 4, 401_00, { strategy_id: "rev", fees: 5_00 }), NOW + SECOND);
    b.state = foldFill(b.fold, b.state, fill("SELL", 4, 405_00, { fees: 8_00 }), NOW + 2 * SECOND);
    b.state = foldTick(b.fold, b.state, RELIANCE, 410_00, NOW + 3 * SECOND);

    expect(b.state.positions).toEqual({ [RELIANCE]: 2 });
    expect(b.state.strategy_positions).toEqual({ [`mom:${RELIANCE}`]: 6, [`rev:${RELIANCE}`]: -4 });
    // mom: bought 10 at 400, sold 4 at 405 (+20), 6 left marked at 410 (+60); rev: short 4 at 401 marked at 410 (−36).
    const p = snapshot(b.fold.pnl);
    expect(p).toMatchObject({ realised_pnl: 20_00, unrealised_pnl: 60_00 - 36_00, fees: 33_00 });
    expect(dayPnl(b.state)).toBe(20_00 + 24_00 - 33_00);
  });

  test("given a tick of an instrument risk holds nothing in, then nothing changes", () => {
    const b = book();
    b.state = foldFill(b.fold, b.state, fill("BUY", 10, 400_00), NOW);
    const before = b.state;
    b.state = foldTick(b.fold, b.state, TCS, 4_000_00, NOW + SECOND);
    expect(b.state).toBe(before);
    expect(dayPnl(b.state)).toBe(0);
  });

  test("given a long of 100 at ₹400, when the price falls to ₹299, then the loss of ₹10,100 puts trading in REDUCING", () => {
    const b = book();
    b.state = foldFill(b.fold, b.state, fill("BUY", 100, 400_00), NOW);
    b.state = foldTick(b.fold, b.state, RELIANCE, 300_00, NOW + SECOND);
    expect(dayPnl(b.state)).toBe(-10_000_00);
    expect(b.state.trading).toBe("ACTIVE"); // exactly the limit is not a breach
    b.state = foldTick(b.fold, b.state, RELIANCE, 299_00, NOW + 2 * SECOND);
    expect(b.state.trading).toBe("REDUCING");
    expect(b.state.trading_reason).toContain("DAILY_LOSS_BREACHED");
    // Then: new risk is refused, with the price this stage saw; getting out is not.
    expect(when(b.state, signal(), { last_price: 299_00 })).toMatchObject({ outcome: "rejected", reason_code: "REDUCE_ONLY" });
    expect(when(b.state, signal({ side: "SELL", quantity: 100, reference_price: 299_00 }), { last_price: 299_00 }).outcome).toBe("validated");
  });
});

describe("the IST day, by event time", () => {
  test("given 3 orders and a loss on Monday, when Tuesday's first tick comes (IST), then counters reset and the day's P&L counts from there", () => {
    const b = book();
    b.state = foldFill(b.fold, b.state, fill("BUY", 100, 400_00), LAST_MS_OF_DAY - 60 * SECOND);
    for (const s of [30, 20, 10]) b.state = foldValidated(b.fold, b.state, "mom", RELIANCE, LAST_MS_OF_DAY - s * SECOND);
    b.state = foldTick(b.fold, b.state, RELIANCE, 395_00, LAST_MS_OF_DAY);
    expect(b.state.orders_today).toEqual({ mom: 3 });
    expect(dayPnl(b.state)).toBe(-500_00);

    b.state = foldTick(b.fold, b.state, RELIANCE, 394_00, MIDNIGHT_IST);
    expect(b.state.day).toBe("2025-01-07");
    expect(b.state.orders_today).toEqual({});
    // Tuesday's P&L is from Monday's close (₹395) to now: 100 × −₹1.
    expect(dayPnl(b.state)).toBe(-100_00);
    expect(when(b.state, signal(), { now: MIDNIGHT_IST + SECOND }).outcome).toBe("validated");
  });

  test("given a day rolled by event time, a late fill of the day before counts toward today", () => {
    const b = book();
    b.state = foldTick(b.fold, b.state, RELIANCE, 400_00, MIDNIGHT_IST);
    b.state = foldFill(b.fold, b.state, fill("BUY", 10, 400_00), LAST_MS_OF_DAY);
    expect(b.state.day).toBe("2025-01-07");
    expect(b.state.positions).toEqual({ [RELIANCE]: 10 });
  });

  test("the throttle counts validations within one second of event time, whatever the wall clock", () => {
    const b = book(); // max_orders_per_second: 2
    b.state = foldValidated(b.fold, b.state, "mom", RELIANCE, NOW);
    b.state = foldValidated(b.fold, b.state, "rev", TCS, NOW + 1);
    expect(when(b.state, signal(), { now: NOW + 999 })).toMatchObject({ outcome: "rejected", reason_code: "RATE_LIMITED" });
    expect(when(b.state, signal(), { now: NOW + 1_001 }).outcome).toBe("validated");
  });
});

describe("redelivery", () => {
  test("given a fill applied at offset 7, when offset 7 comes again (a crash before the commit), then it changes nothing", () => {
    const b = book();
    b.state = foldFill(b.fold, b.state, fill("BUY", 10, 400_00), NOW, { partition: 2, offset: 7 });
    b.state = foldFill(b.fold, b.state, fill("BUY", 10, 400_00), NOW, { partition: 2, offset: 7 });
    expect(b.state.positions).toEqual({ [RELIANCE]: 10 });
    b.state = foldFill(b.fold, b.state, fill("BUY", 5, 400_00), NOW, { partition: 2, offset: 8 });
    expect(b.state.positions).toEqual({ [RELIANCE]: 15 });
  });

  test("a signal validated again at the same offset is not counted twice", () => {
    const b = book();
    b.state = foldValidated(b.fold, b.state, "mom", RELIANCE, NOW, { partition: 1, offset: 3 });
    b.state = foldValidated(b.fold, b.state, "mom", RELIANCE, NOW, { partition: 1, offset: 3 });
    expect(b.state.orders_today).toEqual({ mom: 1 });
  });
});

describe("saved and restored", () => {
  test("given positions, counters and a day's loss, the saved rows restore the same state", () => {
    const b = book();
    b.state = foldFill(b.fold, b.state, fill("BUY", 10, 400_00, { fees: 3_00 }), NOW - 60 * SECOND, { partition: 0, offset: 1 });
    b.state = foldFill(b.fold, b.state, fill("SELL", 5, 4_000_00, { instrument_token: TCS, strategy_id: "rev" }), NOW - 30 * SECOND, { partition: 4, offset: 9 });
    b.state = foldTick(b.fold, b.state, RELIANCE, 390_00, NOW - 10 * SECOND);
    b.state = foldValidated(b.fold, b.state, "mom", RELIANCE, NOW, { partition: 0, offset: 5 });
    const rows = [...b.fold.dirty].map((t) => rowOf(b.fold, b.state, t));
    const limits = { ...LIMITS, max_order_quantity: 7 };
    const r = restore("paper", rows, { ...initialRiskState(limits), trading: "REDUCING" });

    expect(r.state).toMatchObject({ limits, trading: "REDUCING" });
    for (const k of ["day", "orders_today", "recent_orders", "positions", "strategy_positions", "pnl_total", "pnl_day_open"] as const) expect(r.state[k]).toEqual(b.state[k]);
    // Cash is the portfolio's business, not risk's: the positions and their totals are restored.
    expect(r.fold.pnl.positions).toEqual(b.fold.pnl.positions);
    expect(r.fold.pnl.totals).toEqual(b.fold.pnl.totals);
    expect(r.fold.clock).toBe(NOW);
    // The restored fold goes on as the original would: a redelivered fill is still known.
    r.state = foldFill(r.fold, r.state, fill("BUY", 10, 400_00), NOW, { partition: 0, offset: 1 });
    expect(r.state.positions).toEqual(b.state.positions);
  });
});
