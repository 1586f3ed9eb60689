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
