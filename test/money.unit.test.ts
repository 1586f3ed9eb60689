import { expect, test } from "bun:test";
import { onTickGrid, toPaise, toRupees } from "../src/money.ts";

test("decimal rupees to paise and back, exactly", () => {
  const cases: Array<[string, number]> = [
    ["2451.35", 245135],
    ["0.05", 5],
    ["-0.05", -5],
    ["100", 10000],
    ["100.5", 10050],
    ["0", 0],
    ["9999999999999.99", 999999999999999],
  ];
  for (const [text, paise] of cases) {
    expect(toPaise(text)).toBe(paise);
  }
  expect(toRupees(245135)).toBe("2451.35");
  expect(toRupees(-5)).toBe("-0.05");
  expect(toRupees(10050)).toBe("100.50");
  expect(toRupees(0)).toBe("0.00");
});

test("0.1 + 0.2 style amounts add up exactly in paise", () => {
  expect(toRupees(toPaise("0.10") + toPaise("0.20"))).toBe("0.30");
});

test("amounts with more than two decimals or junk are refused, not rounded", () => {
  for (const bad of ["2451.355", "1e3", "", "abc", "12.", ".5", "1,000"]) expect(() => toPaise(bad)).toThrow("not an amount");
});

test("tick grid", () => {
  expect(onTickGrid(245135, 5)).toBe(true);
  expect(onTickGrid(245133, 5)).toBe(false);
  expect(onTickGrid(100, 0)).toBe(false);
});

test("toPaise accepts exactly what the rupee grammar accepts, with the same value", () => {
  // The grammar as a regex, and the reading it had before it was done by hand.
  const reference = (rupees: string): number | "refused" => {
    const m = /^(-)?(\d{1,13})(?:\.(\d{1,2}))?$/.exec(rupees.trim());
    if (!m) return "refused";
    const paise = Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0"));
    return m[1] && paise !== 0 ? -paise : paise;
  };
  const ours = (s: string): number | "refused" => {
    try {
      return toPaise(s);
    } catch {
      return "refused";
    }
  };
  const parts = ["", "-", "--", "0", "7", "12", "00", "1234567890123", "12345678901234", ".", ".5", ".05", ".123", " ", "\t", "+", "e2", "٣", "/", ":", "-0", "9999999999999"];
  const samples = new Set<string>();
  for (const a of parts) for (const b of parts) for (const c of parts.slice(0, 12)) samples.add(a + b + c);
  let accepted = 0;
  for (const s of samples) {
    const want = reference(s);
    expect({ s, got: ours(s) }).toEqual({ s, got: want });
    if (want !== "refused") accepted++;
  }
  expect(accepted).toBeGreaterThan(100);
});
