/**
 * DELETE /orders (cancel-all) and POST /portfolios/:broker/close (square-off) over the fake
 * services: their answers' shapes, the filters they pass on, empty answers, and their 4xx.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cancelAllResponse, squareOffResponse } from "../../gateway/api/schemas.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

const RELIANCE = 738561;
const TCS = 2953217;
const paths = (r: { json: any }) => (r.json.error.details as Array<{ path: string }>).map((d) => d.path).sort();

describe("DELETE /orders: cancel every open order that matches", () => {
  test("nothing open: 202 with an empty list", async () => {
    const r = await h.call("DELETE", "/api/v1/orders?broker=paper");
    expect([r.status, r.json]).toEqual([202, { cancelled: [] }]);
  });

  test("the open orders that match are cancelled and named; finished ones are not; the filters reach the service", async () => {
    const place = async (instrument_token: number, strategy_id: string) =>
      (await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token, side: "BUY", quantity: 1, order_type: "LIMIT", price: "100.00", strategy_id } })).json.order.order_id as string;
    const a = await place(RELIANCE, "cancel_all_a");
    const b = await place(TCS, "cancel_all_a");
    const c = await place(RELIANCE, "cancel_all_b");
    h.services.fill(c, 1, 10_000);

    const r = await h.call("DELETE", `/api/v1/orders?broker=paper&strategy_id=cancel_all_a&instrument_token=${RELIANCE}`);
    expect(r.status).toBe(202);
    expect(cancelAllResponse.parse(r.json)).toEqual({ cancelled: [a] });
    expect(h.services.cancelAllFilters.at(-1)).toEqual({ broker: "paper", strategy_id: "cancel_all_a", instrument_token: RELIANCE });

    const all = await h.call("DELETE", "/api/v1/orders?strategy_id=cancel_all_a");
    expect(all.json.cancelled).toEqual([a, b]);
    expect(h.services.cancelAllFilters.at(-1)).toEqual({ broker: undefined, strategy_id: "cancel_all_a", instrument_token: undefined });
    expect((await h.call("DELETE", "/api/v1/orders?strategy_id=cancel_all_b")).json.cancelled).toEqual([]);
  });

  test("a broker that is not active is a 404; bad filters a 422 naming each", async () => {
    const inactive = await h.call("DELETE", "/api/v1/orders?broker=zerodha");
    expect([inactive.status, inactive.json.error.code]).toEqual([404, "NOT_FOUND"]);
    expect(inactive.json.error.message).toContain('unknown broker "zerodha"');

    const bad = await h.call("DELETE", "/api/v1/orders?instrument_token=abc&strategy_id=&colour=red");
    expect(bad.status).toBe(422);
    expect(paths(bad)).toEqual(["colour", "instrument_token", "strategy_id"]);

    const unknown = await h.call("DELETE", "/api/v1/orders?instrument_token=999");
    expect(unknown.status).toBe(422);
    expect(unknown.json.error).toMatchObject({ code: "VALIDATION_FAILED", message: "invalid query string: instrument_token: unknown instrument 999" });
    expect(paths(unknown)).toEqual(["instrument_token"]);
    expect((await h.call("DELETE", "/api/v1/orders?instrument_token=4294967296")).status).toBe(422);
  });

  test("it needs a trade key", async () => {
    expect((await h.call("DELETE", "/api/v1/orders", { key: h.readKey })).status).toBe(403);
    expect((await h.call("DELETE", "/api/v1/orders", { key: null })).status).toBe(401);
  });
});

describe("POST /portfolios/:broker/close: square off", () => {
  test("every position: one reduce-only MARKET order each, opposite side, the whole net quantity, the position's strategy, MIS", async () => {
    const r = await h.call("POST", "/api/v1/portfolios/paper/close", { body: {} });
    expect(r.status).toBe(202);
    const { orders } = squareOffResponse.parse(r.json);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ broker: "paper", strategy_id: "momentum_fast", instrument_token: RELIANCE, side: "SELL", quantity: 10, order_type: "MARKET", status: "PENDING" });
    expect(orders[0]!.price).toBeUndefined();
    expect(h.services.squareOffs.at(-1)).toMatchObject({ reduce_only: true, product: "MIS" });
  });

  test("filters narrow it; nothing that matches is an empty list", async () => {
    const one = await h.call("POST", "/api/v1/portfolios/paper/close", { body: { strategy_id: "momentum_fast", instrument_token: RELIANCE } });
    expect(one.json.orders).toHaveLength(1);
    const none = await h.call("POST", "/api/v1/portfolios/paper/close", { body: { instrument_token: TCS } });
    expect([none.status, none.json]).toEqual([202, { orders: [] }]);
    expect((await h.call("POST", "/api/v1/portfolios/paper/close", { body: { strategy_id: "nobody" } })).json).toEqual({ orders: [] });
  });

  test("a flat portfolio (a position closed today stays listed, at zero) answers an empty list", async () => {
    const before = h.services.portfolio;
    h.services.portfolio = { ...before, positions: before.positions.map((p) => ({ ...p, quantity: 0, unrealised_pnl: 0 })) };
    try {
      const r = await h.call("POST", "/api/v1/portfolios/paper/close", { body: {} });
      expect([r.status, r.json]).toEqual([202, { orders: [] }]);
    } finally {
      h.services.portfolio = before;
    }
  });

  test("an inactive broker is a 404; bad fields a 422 naming each; no JSON body a 415", async () => {
    const inactive = await h.call("POST", "/api/v1/portfolios/zerodha/close", { body: {} });
    expect([inactive.status, inactive.json.error.code]).toEqual([404, "NOT_FOUND"]);
    const bad = await h.call("POST", "/api/v1/portfolios/paper/close", { body: { instrument_token: "738561", strategy_id: 7, side: "SELL" } });
    expect(bad.status).toBe(422);
    expect(paths(bad)).toEqual(["instrument_token", "side", "strategy_id"]);
    const unknown = await h.call("POST", "/api/v1/portfolios/paper/close", { body: { instrument_token: 999 } });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error.message).toBe("invalid request body: instrument_token: unknown instrument 999");
    expect((await h.call("POST", "/api/v1/portfolios/paper/close")).status).toBe(415);
  });

  test("it needs a trade key", async () => {
    expect((await h.call("POST", "/api/v1/portfolios/paper/close", { body: {}, key: h.readKey })).status).toBe(403);
  });

  test("both routes are in the OpenAPI document with their schemas", () => {
    const paths = h.openapi.paths as Record<string, Record<string, any>>;
    expect(Object.keys(paths["/api/v1/orders"]!)).toContain("delete");
    expect(paths["/api/v1/orders"]!.delete.responses["202"]).toBeDefined();
    const close = paths["/api/v1/portfolios/{broker}/close"]!.post;
    expect(close.requestBody).toBeDefined();
    expect(Object.keys(close.responses)).toEqual(expect.arrayContaining(["202", "404", "422"]));
  });
});
