import { describe, expect, test } from "bun:test";
import { dayPnl, evolve, evolveInPlace, initialRiskState, istDay, parseLimits, type RiskEvent } from "../../src/risk/index.ts";
import { prng } from "../portfolio/prng.ts";
import { LIMITS, NOW, RELIANCE, SECOND, filled, given, killSwitch, pnl, signal, validated, when } from "./spec.ts";

/** 23:59:59.999 IST on 6 January, and midnight IST on the 7th. */
const LAST_MS_OF_DAY = Date.parse("2025-01-06T18:29:59.999Z");
const MIDNIGHT_IST = Date.parse("2025-01-06T18:30:00.000Z");

describe("the day, in IST", () => {
  test("the IST day changes at 18:30 UTC", () => {
    expect(istDay(LAST_MS_OF_DAY)).toBe("2025-01-06");
    expect(istDay(MIDNIGHT_IST)).toBe("2025-01-07");
  });

  test("given 3 orders late on Monday, when Tuesday starts (IST), then the count starts again", () => {
    const state = given(
      validated("mom", LAST_MS_OF_DAY - 30 * SECOND),
      validated("mom", LAST_MS_OF_DAY - 20 * SECOND),
      validated("mom", LAST_MS_OF_DAY - 10 * SECOND),
    );
    expect(when(state, signal(), { now: LAST_MS_OF_DAY })).toMatchObject({ outcome: "rejected", reason_code: "MAX_ORDERS_PER_DAY" });
    // Before any event of the new day, the context already reads the old day's count as stale.
    expect(when(state, signal(), { now: MIDNIGHT_IST }).outcome).toBe("validated");
    const tuesday = evolve(state, validated("mom", MIDNIGHT_IST));
    expect(tuesday.day).toBe("2025-01-07");
    expect(tuesday.orders_today).toEqual({ mom: 1 });
  });

  test("positions and a breach's REDUCING survive the night; the day's P&L starts again from the last total", () => {
    const state = given(filled("BUY", 10), pnl(-20_000_00, 0, LAST_MS_OF_DAY), validated("mom", MIDNIGHT_IST));
    expect(state.positions).toEqual({ [RELIANCE]: 10 });
    expect(state.trading).toBe("REDUCING");
    expect(dayPnl(state)).toBe(0);
    // Tuesday: the account's total falls another ₹9,000 — within Tuesday's ₹10,000.
    const tuesday = evolve(evolve(state, killSwitch("ACTIVE", "new day", MIDNIGHT_IST)), pnl(-29_000_00, 0, MIDNIGHT_IST + SECOND));
    expect(dayPnl(tuesday)).toBe(-9_000_00);
    expect(tuesday.trading).toBe("ACTIVE");
  });
});

describe("fills", () => {
  test("net positions per instrument and per strategy; a closed position disappears", () => {
    const state = given(filled("BUY", 10, "a"), filled("SELL", 4, "b"), filled("SELL", 10, "a"));
    expect(state.positions).toEqual({ [RELIANCE]: -4 });
    expect(state.strategy_positions).toEqual({ [`b:${RELIANCE}`]: -4 });
  });
});

describe("P&L and the daily loss", () => {
  test("given a loss within the limit, then trading stays ACTIVE", () => {
    expect(given(pnl(-5_000_00, -5_000_00)).trading).toBe("ACTIVE");
  });

  test("fees count as a loss", () => {
    expect(given(pnl(-5_000_00, -4_000_00, NOW, 1_000_01)).trading).toBe("REDUCING");
  });

  test("given realised + unrealised below -max_daily_loss, then trading is REDUCING, and why is recorded", () => {
    const state = given(pnl(-6_000_00, -4_000_01, NOW + SECOND));
    expect(state.trading).toBe("REDUCING");
    expect(state.trading_reason).toContain("DAILY_LOSS_BREACHED");
    expect(state.trading_reason).toContain("-10000.01");
    expect(state.trading_since).toBe(NOW + SECOND);
    expect(when(state, signal()).outcome).toBe("rejected");
  });

  test("given a loss, when the limit is lowered below it, then trading is REDUCING", () => {
    const state = given(pnl(-3_000_00, 0), { type: "LimitsChanged", limits: parseLimits({ max_daily_loss: 2_000_00 }, LIMITS), at: NOW });
    expect(state.trading).toBe("REDUCING");
    expect(state.limits.max_daily_loss).toBe(2_000_00);
  });
});

describe("the daily loss under the kill switch", () => {
  test("given HALTED by an operator, a breach leaves it HALTED; given REDUCING, it stays REDUCING with the operator's reason", () => {
    expect(given(killSwitch("HALTED", "desk"), pnl(-20_000_00, 0, NOW + SECOND))).toMatchObject({ trading: "HALTED", trading_reason: "desk" });
    expect(given(killSwitch("REDUCING", "desk"), pnl(-20_000_00, 0, NOW + SECOND))).toMatchObject({ trading: "REDUCING", trading_reason: "desk" });
  });
});

describe("the kill switch", () => {
  test("sets each state with its reason, and lifting a halt restores trading", () => {
    const halted = given(killSwitch("HALTED", "fat finger elsewhere"));
    expect(halted).toMatchObject({ trading: "HALTED", trading_reason: "fat finger elsewhere", trading_since: NOW });
    const lifted = evolve(halted, killSwitch("ACTIVE", "all clear", NOW + SECOND));
    expect(lifted.trading).toBe("ACTIVE");
    expect(when(lifted, signal(), { now: NOW + SECOND }).outcome).toBe("validated");
  });
});

describe("the throttle", () => {
  test("only the last second is remembered", () => {
    const state = given(validated("a", NOW), validated("a", NOW + 500), validated("a", NOW + 1_200));
    expect(state.recent_orders).toEqual([NOW + 500, NOW + 1_200]);
    expect(when(state, signal(), { now: NOW + 1_300 }).outcome).toBe("rejected");
    expect(when(state, signal(), { now: NOW + 1_500 }).outcome).toBe("validated");
  });
});

test("the state is plain JSON", () => {
  const state = given(filled("BUY", 10), validated(), pnl(-1, 2), killSwitch("REDUCING"));
  expect(JSON.parse(JSON.stringify(state))).toEqual(state);
});

describe("evolveInPlace (what the risk stage runs)", () => {
  test("over long random sequences it ends where evolve does, and the books stay free of zero positions", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = prng(seed);
      const tokens = [RELIANCE, 2953217, 408065];
      const events: RiskEvent[] = [];
      let at = LAST_MS_OF_DAY - 120 * SECOND;
      for (let i = 0; i < 2_000; i++) {
        at += r.int(0, 400);
        const token = r.pick(tokens);
        const strategy_id = r.pick(["mom", "rev"]);
        const kind = r.int(0, 9);
        if (kind < 6) events.push({ type: "FillApplied", strategy_id, instrument_token: token, side: r.int(0, 1) ? "BUY" : "SELL", quantity: r.int(1, 3), at });
        else if (kind < 8) events.push({ type: "SignalValidated", strategy_id, instrument_token: token, at });
        else events.push({ type: "PnlUpdated", realised_pnl: r.int(-5_000_00, 5_000_00), unrealised_pnl: r.int(-5_000_00, 5_000_00), at });
      }
      const pure = events.reduce(evolve, initialRiskState(LIMITS));
      const inPlace = events.reduce(evolveInPlace, initialRiskState(LIMITS));
      expect({ seed, state: inPlace }).toEqual({ seed, state: pure });
      expect(Object.values(inPlace.positions)).not.toContain(0);
      expect(Object.values(inPlace.strategy_positions)).not.toContain(0);
    }
  });

  test("a position closed in place is gone from both books", () => {
    const s = [filled("BUY", 10), filled("SELL", 10)].reduce(evolveInPlace, initialRiskState(LIMITS));
    expect(s.positions).toEqual({});
    expect(s.strategy_positions).toEqual({});
  });
});
