/** The ticker's pure parts: the backoff schedule and the subscription registry. */
import { describe, expect, test } from "bun:test";
import { backoffDelay } from "../../../src/kite/ticker/backoff.ts";
import { Subscriptions } from "../../../src/kite/ticker/subscriptions.ts";

describe("backoffDelay", () => {
  const b = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: false };

  test("doubles from the first delay and stays at the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, b))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  test("jitter stays within [d/2, d]", () => {
    const j = { ...b, jitter: true };
    expect(backoffDelay(3, j, () => 0)).toBe(1000);
    expect(backoffDelay(3, j, () => 0.999999)).toBe(2000);
    expect(backoffDelay(30, j, () => 0.5)).toBe(22500);
  });
});

describe("Subscriptions", () => {
  test("restore: one subscribe for all, then a mode request per mode", () => {
    const s = new Subscriptions();
    s.subscribe([3, 1], "full");
    s.subscribe([2], "ltp");
    s.subscribe([4, 4], "quote"); // duplicates collapse
    s.setMode("ltp", [3]);
    s.unsubscribe([1, 99]);
    expect(s.restore()).toEqual([
      { a: "subscribe", v: [3, 2, 4] },
      { a: "mode", v: ["ltp", [3, 2]] },
      { a: "mode", v: ["quote", [4]] },
    ]);
  });

  test("nothing to send for nothing", () => {
    const s = new Subscriptions();
    expect(s.restore()).toEqual([]);
    expect(s.subscribe([], "full")).toEqual([]);
    expect(s.unsubscribe([])).toEqual([]);
  });

  test("a refused subscribe changes nothing", () => {
    const s = new Subscriptions(2);
    s.subscribe([1], "ltp");
    expect(() => s.subscribe([2, 3], "full")).toThrow(/cannot subscribe 2 more instruments: 1 already subscribed/);
    expect(s.entries()).toEqual([[1, "ltp"]]);
  });
});
