/**
 * The orders read model as the API shows it (gateway/services/orders-view.ts): the average fill
 * price in whole paise, rounded half up, and the page cursor this API gives out.
 */
import { describe, expect, test } from "bun:test";
import { cursorBelow, orderView, seqOfCursor } from "../../gateway/services/orders-view.ts";
import { AlphaError } from "../../src/errors.ts";
import type { StoredOrder } from "../../src/store/orders.ts";

const stored = (over: Partial<StoredOrder> = {}): StoredOrder => ({
  order_id: "o1",
  seq: 7,
  broker: "paper",
  strategy_id: "manual",
  instrument_token: 738561,
  side: "BUY",
  quantity: 3,
  filled_quantity: 0,
  filled_value: 0,
  order_type: "LIMIT",
  price: 245_135,
  status: "OPEN",
  correlation_id: "c1",
  created_at: "2026-12-07T09:15:00.000Z",
  updated_at: "2026-12-07T09:15:00.001Z",
  ...over,
});

describe("orderView", () => {
  test("no fill: no average price; the row's seq and filled value stay in the store", () => {
    const view = orderView(stored());
    expect(view.average_price).toBeUndefined();
    expect(view).not.toHaveProperty("seq");
    expect(view).not.toHaveProperty("filled_value");
    expect(view).toMatchObject({ order_id: "o1", status: "OPEN", price: 245_135, filled_quantity: 0 });
  });

  test("the average fill price is whole paise, rounded half up", () => {
    // 100 + 101 over 2 fills: 100.5 → 101; 100 + 100 + 101 over 3: 100.33 → 100; 100 + 101 + 101: 100.67 → 101.
    expect(orderView(stored({ filled_quantity: 2, filled_value: 201 })).average_price).toBe(101);
    expect(orderView(stored({ filled_quantity: 3, filled_value: 301 })).average_price).toBe(100);
    expect(orderView(stored({ filled_quantity: 3, filled_value: 302 })).average_price).toBe(101);
  });
});

describe("the page cursor", () => {
  test("gives back the seq it was made from", () => {
    expect(seqOfCursor(cursorBelow(9_007_199_254_740_991))).toBe(9_007_199_254_740_991);
    expect(seqOfCursor(cursorBelow(1))).toBe(1);
  });

  test("any other string is PAYLOAD_INVALID naming the cursor", () => {
    for (const cursor of ["", "!!", Buffer.from("0").toString("base64url"), Buffer.from("-3").toString("base64url"), Buffer.from("x").toString("base64url")]) {
      let thrown: unknown;
      try {
        seqOfCursor(cursor);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AlphaError);
      expect(thrown).toMatchObject({ code: "PAYLOAD_INVALID", details: [{ path: "cursor" }] });
    }
  });
});
