/**
 * Kite's rupee numbers to paise, exactly: from the number's decimal text, never by float maths.
 */
import { expect, test } from "bun:test";
import { exactPaise, nearestPaise } from "../../../src/kite/rest/money.ts";
import { kiteTimeToIso } from "../../../src/kite/rest/schemas.ts";

test("prices on the grid convert exactly; finer ones are refused, not rounded", () => {
  const exact: Array<[number, number]> = [
    [1290.5, 129050],
    [109.4, 10940],
    [109.35, 10935],
    [0, 0],
    [0.05, 5],
    [-5.05, -505],
    [4854, 485400],
    [9999999999999.99, 999999999999999],
  ];
  for (const [x, p] of exact) expect(exactPaise(x)).toBe(p);
  for (const bad of [72.1225, 0.1 + 0.2, 1e21, Number.NaN, Number.POSITIVE_INFINITY, 3.216667]) expect(exactPaise(bad)).toBeUndefined();
});

test("computed amounts round to the nearest paisa, half away from zero, on the digits", () => {
  const cases: Array<[number, number]> = [
    [8.466, 847],
    [3.216667, 322],
    [5.441429, 544],
    [99725.05000000002, 9972505],
    [-37.80000000000041, -3780],
    [2173.6700000000005, 217367],
    [812.675, 81268],
    [0.005, 1],
    [-0.005, -1],
    [0.0049, 0],
    [1e-7, 0],
    [-1e-9, 0],
    [0.1 + 0.2, 30],
  ];
  for (const [x, p] of cases) expect(nearestPaise(x)).toBe(p);
  expect(nearestPaise(Number.NaN)).toBeUndefined();
});

test("any whole-paise amount Kite could write reads back exactly (20,000 random ones)", () => {
  for (let i = 0; i < 20_000; i++) {
    const paise = Math.floor(Math.random() * 1e13) * (Math.random() < 0.2 ? -1 : 1);
    // What JSON.parse gives for Kite's "1234.56": the double nearest to paise / 100.
    const fromJson = Number(JSON.parse(JSON.stringify(paise / 100)));
    expect(exactPaise(fromJson)).toBe(paise === 0 ? 0 : paise);
    expect(nearestPaise(fromJson)).toBe(paise === 0 ? 0 : paise);
  }
});

test("Kite's IST timestamps become UTC ISO", () => {
  expect(kiteTimeToIso("2022-03-03 09:24:25")).toBe("2022-03-03T03:54:25.000Z");
  expect(kiteTimeToIso("2021-05-31 00:10:00")).toBe("2021-05-30T18:40:00.000Z");
  for (const bad of ["2022-03-03T09:24:25", "", "2022-13-45 99:00:00", "yesterday"]) expect(kiteTimeToIso(bad)).toBeUndefined();
});
