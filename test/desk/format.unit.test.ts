/** The desk's pure parts: Indian digit grouping, positions per instrument. */
import { describe, expect, test } from "bun:test";
import { groupIndian, rupees, sumRupees } from "../../gateway/desk/app/money.ts";
import { byInstrument } from "../../gateway/desk/app/positions.ts";

describe("rupees with Indian digit grouping", () => {
  test("groups the last three digits, then pairs", () => {
    expect(groupIndian("0")).toBe("0");
    expect(groupIndian("999")).toBe("999");
    expect(groupIndian("1000")).toBe("1,000");
    expect(groupIndian("100000")).toBe("1,00,000");
    expect(groupIndian("12345678")).toBe("1,23,45,678");
    expect(groupIndian("1234567890123")).toBe("12,34,56,78,90,123");
  });

  test("a decimal string becomes ₹ with two decimals, the sign in front", () => {
    expect(rupees("12345678.5")).toBe("₹1,23,45,678.50");
    expect(rupees("-12.05")).toBe("-₹12.05");
    expect(rupees("0.00")).toBe("₹0.00");
    expect(rupees("-0.00")).toBe("₹0.00");
    expect(rupees("1000000.00")).toBe("₹10,00,000.00");
    expect(rupees(undefined)).toBe("—");
  });

  test("sums are exact (paise, not floats)", () => {
    expect(sumRupees("0.10", "0.20")).toBe("0.30");
    expect(sumRupees("1.10", "-2.25", undefined)).toBe("-1.15");
    expect(() => rupees("1.234")).toThrow();
  });
});

describe("positions per instrument", () => {
  const pos = (strategy_id: string, instrument_token: number, quantity: number, average_price: string, realised_pnl = "0.00", unrealised_pnl = "0.00") => ({
    strategy_id,
    instrument_token,
    quantity,
    average_price,
    last_price: "101.00",
    realised_pnl,
    unrealised_pnl,
    fees: "0.10",
  });

  test("strategies' holdings of one instrument are summed; same side gives a weighted average", () => {
    const [row] = byInstrument([pos("a", 1, 1, "100.00", "1.00", "1.00"), pos("b", 1, 3, "104.00", "0.00", "-3.00")]);
    expect(row).toMatchObject({ token: 1, quantity: 4, average: "103.00", last: "101.00", pnl: "-1.00" });
  });

  test("opposite sides have no average; flat instruments come last", () => {
    const rows = byInstrument([pos("a", 2, 0, "0.00", "5.00"), pos("a", 1, 2, "100.00"), pos("b", 1, -1, "90.00")]);
    expect(rows.map((r) => [r.token, r.quantity, r.average])).toEqual([
      [1, 1, undefined],
      [2, 0, undefined],
    ]);
  });
});
