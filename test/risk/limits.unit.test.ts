import { expect, test } from "bun:test";
import { DEFAULT_LIMITS, RiskLimitsError, limitsAtEdge, parseLimits, parseLimitsAtEdge } from "../../src/risk/index.ts";

const problemsOf = (input: unknown) => {
  try {
    parseLimits(input);
  } catch (err) {
    expect(err).toBeInstanceOf(RiskLimitsError);
    return (err as RiskLimitsError).problems;
  }
  throw new Error("expected a RiskLimitsError");
};

test("the defaults are valid limits", () => {
  expect(parseLimits({})).toEqual(DEFAULT_LIMITS);
  expect(parseLimits(DEFAULT_LIMITS)).toEqual(DEFAULT_LIMITS);
});

test("a partial change keeps the other limits", () => {
  expect(parseLimits({ max_daily_loss: 1 })).toEqual({ ...DEFAULT_LIMITS, max_daily_loss: 1 });
});

test("given a negative notional and a fraction of 1.5, then both are named, with what was given", () => {
  const ps = problemsOf({ max_order_notional: -100, price_band_fraction: 1.5 });
  expect(ps).toEqual([
    { path: "max_order_notional", message: "must not be negative, got -100" },
    { path: "price_band_fraction", message: "must be a fraction from 0 to 1, got 1.5" },
  ]);
});

test("every bad field is listed in one error: fractions of paise, strings, unknown limits", () => {
  const ps = problemsOf({ max_daily_loss: 10.5, max_orders_per_second: "10", max_order_qty: 5, price_band_fraction: -0.1 });
  expect(ps.map((p) => p.path).sort()).toEqual(["max_daily_loss", "max_order_qty", "max_orders_per_second", "price_band_fraction"]);
  try {
    parseLimits({ max_daily_loss: -1, max_position_quantity: -1 });
  } catch (err) {
    expect((err as Error).message).toContain("2 problems");
    expect((err as Error).message).toContain("max_daily_loss");
    expect((err as Error).message).toContain("max_position_quantity");
  }
});

test("not an object at all", () => {
  expect(problemsOf(null)[0]!.path).toBe("(root)");
});

test("at the edge, money limits are decimal rupee strings both ways, exact to the paisa; a number there is refused with the rest", () => {
  const l = parseLimitsAtEdge({ max_daily_loss: "25000.05", max_order_quantity: 10 });
  expect(l.max_daily_loss).toBe(25_000_05);
  expect(l.max_order_quantity).toBe(10);
  expect(limitsAtEdge(l)).toMatchObject({ max_daily_loss: "25000.05", max_order_notional: "1000000.00", max_order_quantity: 10 });
  try {
    parseLimitsAtEdge({ max_daily_loss: 5000, max_order_notional: "1.005", max_order_quantity: -1 });
    throw new Error("accepted");
  } catch (err) {
    expect(err).toBeInstanceOf(RiskLimitsError);
    expect((err as RiskLimitsError).problems.map((p) => p.path).sort()).toEqual(["max_daily_loss", "max_order_notional", "max_order_quantity"]);
  }
});
