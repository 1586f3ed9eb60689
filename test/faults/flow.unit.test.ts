/**
 * The harness's order flow is what it claims: deterministic, unique client_order_ids, MARKET with
 * every fifth a LIMIT priced through the market on the tick grid and inside the risk price band.
 */
import { expect, test } from "bun:test";
import { FLOW, FLOW_PRICES, orderSpec } from "./harness.ts";
import { toPaise } from "../../src/money.ts";
import { table } from "./report.ts";
import { emptyCounts } from "./harness.ts";

test("the flow is deterministic and its client_order_ids unique", () => {
  const a = Array.from({ length: FLOW.orders }, (_, i) => orderSpec("x", i, "run"));
  const b = Array.from({ length: FLOW.orders }, (_, i) => orderSpec("x", i, "run"));
  expect(a).toEqual(b);
  expect(new Set(a.map((o) => o.client_order_id)).size).toBe(FLOW.orders);
  expect(a.filter((o) => o.order_type === "LIMIT").length).toBe(FLOW.orders / 5);
  expect(new Set(a.map((o) => o.side))).toEqual(new Set(["BUY", "SELL"]));
});

test("LIMIT orders cross the market by about 1%, on the 5-paise grid, inside the 5% band", () => {
  for (let i = 0; i < 100; i++) {
    const o = orderSpec("x", i, "run");
    if (o.order_type !== "LIMIT") continue;
    const limit = toPaise(o.price!);
    const market = FLOW_PRICES[o.instrument_token]!;
    expect(limit % 5).toBe(0);
    if (o.side === "BUY") expect(limit).toBeGreaterThan(market);
    else expect(limit).toBeLessThan(market);
    expect(Math.abs(limit - market) / market).toBeLessThan(0.05);
  }
});

test("the table has a row per fault and says FAIL for a failed one", () => {
  const base = { title: "t", notes: [], durationMs: 1, detail: {} };
  const out = table([
    { ...base, id: "none", counts: { ...emptyCounts(), orders: 200, recoveryMs: 300 }, pass: true, failures: [] },
    { ...base, id: "b", counts: { ...emptyCounts(), stuck: 3 }, pass: false, failures: ["3 stuck"] },
  ]);
  expect(out).toMatch(/\| none .*\|\s+0\.3 \|\s+pass \|/);
  expect(out).toMatch(/\| b .*\|\s+never \|\s+FAIL \|/);
});
