import { describe, expect, test } from "bun:test";
import { SHIPPED_CALENDAR } from "../../src/market/calendar.ts";
import type { RiskDecision } from "../../src/risk/index.ts";
import { filled, given, killSwitch, signal, when } from "./spec.ts";

/** An instant given as IST wall time. */
const ist = (text: string) => Date.parse(`${text}+05:30`);
const NSE_EQUITY = { tick_size: 5, lot_size: 1, exchange: "NSE" };
/** MARKET_HOURS=nse: the shipped calendar. */
const nse = (now: number) => ({ instrument: NSE_EQUITY, hours: SHIPPED_CALENDAR, now });
const check = (d: RiskDecision, rule: string) => d.checks.find((c) => c.rule === rule)!;

describe("market hours (MARKET_CLOSED, AMO_MARKET_OPEN)", () => {
  test("given MARKET_HOURS=nse, when an order arrives on a Sunday, then it is rejected MARKET_CLOSED naming the next open in IST", () => {
    const d = when(given(), signal(), nse(ist("2026-12-06T11:00:00")));
    expect(d.outcome).toBe("rejected");
    if (d.outcome !== "rejected") return;
    expect(d.reason_code).toBe("MARKET_CLOSED");
    expect(d.message).toContain("NSE is closed (Sunday); it opens Mon 7 Dec 2026 09:15 IST");
    expect(d.checks.filter((c) => !c.passed).map((c) => c.rule)).toEqual(["MARKET_CLOSED"]);
  });

  test("after the close, before the open, in the pre-open and on a holiday: closed; 09:15 to 15:29:59 open", () => {
    const rejected = (at: string) => when(given(), signal(), nse(ist(at)));
    for (const at of ["2026-12-07T15:30:00", "2026-12-07T09:14:59.999", "2026-12-07T09:05:00", "2026-12-25T11:00:00"]) {
      const d = rejected(at);
      expect(d.outcome === "rejected" && d.reason_code).toBe("MARKET_CLOSED");
    }
    expect(check(rejected("2026-12-25T11:00:00"), "MARKET_CLOSED").detail).toContain("holiday: Christmas); it opens Mon 28 Dec 2026 09:15 IST");
    expect(when(given(), signal(), nse(ist("2026-12-07T09:15:00"))).outcome).toBe("validated");
    const open = when(given(), signal(), nse(ist("2026-12-07T15:29:59.999")));
    expect(open.outcome).toBe("validated");
    expect(check(open, "MARKET_CLOSED").detail).toBe("NSE is open until Mon 7 Dec 2026 15:30 IST");
  });

  test("given MARKET_HOURS=off, then the rule passes at any hour and says hours are not enforced", () => {
    const d = when(given(), signal(), { instrument: NSE_EQUITY, now: ist("2026-12-06T11:00:00") });
    expect(d.outcome).toBe("validated");
    expect(check(d, "MARKET_CLOSED")).toMatchObject({ passed: true, detail: "market hours not enforced (MARKET_HOURS=off)" });
    expect(check(when(given(), signal({ amo: true }), { instrument: NSE_EQUITY, now: ist("2026-12-07T11:00:00") }), "AMO_MARKET_OPEN").passed).toBe(true);
  });

  test("an after-market order passes while the market is closed, and rests until the open", () => {
    const d = when(given(), signal({ amo: true }), nse(ist("2026-12-05T20:00:00")));
    expect(d.outcome).toBe("validated");
    expect(check(d, "MARKET_CLOSED").detail).toContain("an after-market order, it rests until then");
    expect(check(d, "AMO_MARKET_OPEN").detail).toBe("NSE is closed: the after-market order rests until Mon 7 Dec 2026 09:15 IST");
  });

  test("an after-market order while the market is open is refused AMO_MARKET_OPEN, as Kite refuses it", () => {
    const d = when(given(), signal({ amo: true }), nse(ist("2026-12-07T10:00:00")));
    expect(d.outcome === "rejected" && d.reason_code).toBe("AMO_MARKET_OPEN");
    expect(check(d, "AMO_MARKET_OPEN").detail).toContain("place a regular order");
  });

  test("the halt is still the first reason; an unknown instrument cannot be checked; an exchange without hours (MCX) is not checked", () => {
    const halted = when(given(filled("BUY", 10), killSwitch("HALTED")), signal(), nse(ist("2026-12-06T11:00:00")));
    expect(halted.outcome === "rejected" && halted.reason_code).toBe("TRADING_HALTED");
    const unknown = when(given(), signal(), { ...nse(ist("2026-12-06T11:00:00")), instrument: undefined });
    expect(check(unknown, "MARKET_CLOSED")).toMatchObject({ passed: false, detail: "not checked: unknown instrument" });
    const mcx = when(given(), signal(), { ...nse(ist("2026-12-06T11:00:00")), instrument: { tick_size: 5, lot_size: 1, exchange: "MCX" } });
    expect(mcx.outcome).toBe("validated");
    expect(check(mcx, "MARKET_CLOSED").detail).toBe("no hours for exchange MCX in the calendar: not checked");
  });
});

describe("after the intraday square-off (MIS_SQUARED_OFF)", () => {
  const at1520 = (now: number) => ({ ...nse(now), mis_square_off_minute: 15 * 60 + 20 });

  test("given MARKET_HOURS=nse, when an MIS order (or one with no product) arrives at 15:20 IST or later, then it is rejected: no new intraday order today", () => {
    for (const product of ["MIS", undefined] as const) {
      const d = when(given(), signal(product ? { product } : {}), at1520(ist("2026-12-07T15:20:00")));
      expect(d.outcome === "rejected" && d.reason_code).toBe("MIS_SQUARED_OFF");
      expect(check(d, "MIS_SQUARED_OFF").detail).toBe("intraday (MIS) positions were squared off at 15:20 IST: no new MIS order today; place it as CNC or NRML");
    }
  });

  test("before 15:20 an MIS order passes; after it a CNC or NRML order passes; with hours off the rule says so", () => {
    expect(check(when(given(), signal({ product: "MIS" }), at1520(ist("2026-12-07T15:19:59.999"))), "MIS_SQUARED_OFF")).toMatchObject({ passed: true, detail: "before the intraday square-off at 15:20 IST" });
    for (const product of ["CNC", "NRML"] as const) expect(when(given(), signal({ product }), at1520(ist("2026-12-07T15:25:00"))).outcome).toBe("validated");
    const off = when(given(), signal({ product: "MIS" }), { now: ist("2026-12-07T15:25:00"), mis_square_off_minute: 920 });
    expect(check(off, "MIS_SQUARED_OFF")).toMatchObject({ passed: true, detail: "market hours not enforced (MARKET_HOURS=off)" });
  });
});
