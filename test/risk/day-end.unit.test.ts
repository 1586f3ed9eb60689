/**
 * The day's end for intraday positions (src/risk/day-end.ts), Given/When/Then by event time: due
 * once a day at the square-off minute (15:20 IST), again the next day; only MIS (or no product)
 * positions are flattened, one order per strategy; a fill after the day's square-off is countered
 * unless it is the square-off's own; what is saved restores the same book and markers.
 */
import { describe, expect, test } from "bun:test";
import { DayEnd, squareOffInstant, type SquareOff } from "../../src/risk/index.ts";
import type { Product, Side } from "../../src/orders/vocabulary.ts";

const MINUTE = 15 * 60 + 20;
const RELIANCE = "738561";
/** Monday 6 January 2025 (IST) at the given IST time. */
const ist = (hhmmss: string, day = "2025-01-06") => Date.parse(`${day}T${hhmmss}+05:30`);
const MONDAY = "2025-01-06";

let n = 0;
const fill = (side: Side, quantity: number, over: { strategy_id?: string; product?: Product; order_id?: string } = {}) => ({
  order_id: over.order_id ?? `o${++n}`,
  strategy_id: over.strategy_id ?? "mom",
  side,
  fill_quantity: quantity,
  ...(over.product ? { product: over.product } : {}),
});
const ids = (prefix: string) => (s: string) => `${prefix}/${s}`;
const flat = (orders: SquareOff[] | undefined) => orders?.map((o) => [o.strategy_id, o.side, o.quantity]);

describe("when the day's end is due, by event time", () => {
  test("15:20 IST is 09:50 UTC of the same day", () => {
    expect(squareOffInstant(ist("10:00:00"), MINUTE)).toBe(Date.parse("2025-01-06T09:50:00Z"));
    expect(squareOffInstant(ist("23:59:59"), MINUTE)).toBe(Date.parse("2025-01-06T09:50:00Z"));
  });

  test("given events before 15:20, nothing is due; at 15:20:00 it is, once; a later event that day is not; the next day at 15:20 again", () => {
    const d = new DayEnd();
    expect(d.due(ist("09:15:00"), MINUTE)).toBeUndefined();
    expect(d.due(ist("15:19:59.999"), MINUTE)).toBeUndefined();
    expect(d.due(ist("15:20:00"), MINUTE)).toBe(MONDAY);
    expect(d.due(ist("15:20:01"), MINUTE)).toBeUndefined();
    expect(d.due(ist("23:00:00"), MINUTE)).toBeUndefined();
    expect(d.due(ist("09:15:00", "2025-01-07"), MINUTE)).toBeUndefined();
    expect(d.due(ist("15:25:00", "2025-01-07"), MINUTE)).toBe("2025-01-07");
  });

  test("given the first event of the day after 15:20 (a restart, a gap in ticks), it is due at once", () => {
    expect(new DayEnd().due(ist("15:45:00"), MINUTE)).toBe(MONDAY);
  });

  test("another square-off minute (MIS_SQUARE_OFF_AT=15:05) is due at 15:05", () => {
    const d = new DayEnd();
    expect(d.due(ist("15:04:59"), 905)).toBeUndefined();
    expect(d.due(ist("15:05:00"), 905)).toBe(MONDAY);
  });
});

describe("what the day's end flattens", () => {
  test("given intraday positions of two strategies and a CNC one, then one MARKET order per strategy flattens the intraday part only", () => {
    const d = new DayEnd();
    d.onFill(RELIANCE, fill("BUY", 10), MONDAY, () => "x");
    d.onFill(RELIANCE, fill("SELL", 4, { strategy_id: "rev", product: "MIS" }), MONDAY, () => "x");
    d.onFill(RELIANCE, fill("BUY", 50, { product: "CNC" }), MONDAY, () => "x");
    d.onFill(RELIANCE, fill("SELL", 3), MONDAY, () => "x");
    const orders = d.flatten(RELIANCE, ids("sq"), MONDAY);
    expect(flat(orders)).toEqual([
      ["mom", "SELL", 7],
      ["rev", "BUY", 4],
    ]);
    expect(orders!.map((o) => o.order_id)).toEqual(["sq/mom", "sq/rev"]);
    expect(orders!.every((o) => o.instrument_token === 738561)).toBe(true);
  });

  test("given only CNC and NRML positions, nothing is ordered (the cancel of MIS orders still runs for the instrument)", () => {
    const d = new DayEnd();
    d.onFill(RELIANCE, fill("BUY", 10, { product: "CNC" }), MONDAY, () => "x");
    d.onFill(RELIANCE, fill("BUY", 10, { product: "NRML" }), MONDAY, () => "x");
    expect(d.instruments([])).toEqual([]);
    expect(d.flatten(RELIANCE, ids("sq"), MONDAY)).toEqual([]);
  });

  test("the day-end of a day runs once per instrument; a liquidation (no day) may run any number of times", () => {
    const d = new DayEnd();
    d.onFill(RELIANCE, fill("BUY", 10), MONDAY, () => "x");
    expect(flat(d.flatten(RELIANCE, ids("liq1")))).toEqual([["mom", "SELL", 10]]);
    expect(flat(d.flatten(RELIANCE, ids("liq2")))).toEqual([["mom", "SELL", 10]]);
    expect(flat(d.flatten(RELIANCE, ids("sq"), MONDAY))).toEqual([["mom", "SELL", 10]]);
    expect(d.flatten(RELIANCE, ids("sq"), MONDAY)).toBeUndefined();
    expect(flat(d.flatten(RELIANCE, ids("sq2"), "2025-01-07"))).toEqual([["mom", "SELL", 10]]);
  });
});

describe("fills after the day's square-off", () => {
  test("given the square-off was computed before a fill in flight arrived, then that fill is countered and the square-off's own fill is not", () => {
    const d = new DayEnd();
    d.onFill(RELIANCE, fill("BUY", 10), MONDAY, () => "x");
    const [sq] = d.flatten(RELIANCE, ids("sq"), MONDAY)!;
    // An order validated at 15:19:59 fills after the square-off was sent.
    const counter = d.onFill(RELIANCE, fill("BUY", 5, { order_id: "late" }), MONDAY, () => "counter-1");
    expect(counter).toEqual({ order_id: "counter-1", strategy_id: "mom", instrument_token: 738561, side: "SELL", quantity: 5 });
    expect(d.onFill(RELIANCE, fill("SELL", 10, { order_id: sq!.order_id }), MONDAY, () => "no")).toBeUndefined();
    expect(d.onFill(RELIANCE, fill("SELL", 5, { order_id: "counter-1" }), MONDAY, () => "no")).toBeUndefined();
    expect(d.intraday.has(RELIANCE)).toBe(false);
  });

  test("a CNC fill after the square-off, and an MIS fill of the next day, are left alone", () => {
    const d = new DayEnd();
    d.flatten(RELIANCE, ids("sq"), MONDAY);
    expect(d.onFill(RELIANCE, fill("BUY", 5, { product: "CNC" }), MONDAY, () => "no")).toBeUndefined();
    expect(d.onFill(RELIANCE, fill("BUY", 5), "2025-01-07", () => "no")).toBeUndefined();
    expect(d.intraday.get(RELIANCE)).toEqual({ mom: 5 });
  });
});

test("saved and restored: the same intraday book and markers, so a restart neither squares off twice nor forgets a counter", () => {
  const d = new DayEnd();
  d.onFill(RELIANCE, fill("BUY", 10), MONDAY, () => "x");
  d.onFill("2953217", fill("SELL", 2, { strategy_id: "rev" }), MONDAY, () => "x");
  const [sq] = d.flatten(RELIANCE, ids("sq"), MONDAY)!;
  const rows = [RELIANCE, "2953217", "408065"].map((t) => [t, d.rowOf(t)] as const);
  expect(rows[2]![1]).toEqual({});
  const back = DayEnd.restore(rows);
  expect(back.rowOf(RELIANCE)).toEqual({ intraday: { mom: 10 }, done: { day: MONDAY, orders: [sq!.order_id] } });
  expect(back.flatten(RELIANCE, ids("sq"), MONDAY)).toBeUndefined();
  expect(back.onFill(RELIANCE, fill("SELL", 10, { order_id: sq!.order_id }), MONDAY, () => "no")).toBeUndefined();
  expect(back.instruments([])).toEqual(["2953217"]);
});
