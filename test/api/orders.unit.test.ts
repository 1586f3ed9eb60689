/**
 * POST/GET/DELETE /api/v1/orders over the fake services: validation naming each field, lot and
 * tick rules, idempotency on client_order_id, cursor paging, money as decimal strings.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { errorResponse, orderListResponse, orderResponse } from "../../gateway/api/schemas.ts";
import { NIFTY_FUT } from "./fake-services.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

const limitBuy = { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 10, order_type: "LIMIT", price: "2451.35" };

/** The details' paths of a 422, and that its message names each of them. */
function badFields(r: { status: number; json: any }): string[] {
  expect(r.status).toBe(422);
  expect(errorResponse.parse(r.json).error.code).toBe("VALIDATION_FAILED");
  const details = r.json.error.details as Array<{ path: string; message: string }>;
  for (const d of details) {
    expect(d.message.startsWith(`${d.path}:`)).toBe(true);
    expect(r.json.error.message).toContain(d.path);
  }
  return details.map((d) => d.path).sort();
}

describe("POST /orders", () => {
  test("a LIMIT order is accepted (202) with prices as decimal strings", async () => {
    const r = await h.call("POST", "/api/v1/orders", { body: limitBuy });
    expect(r.status).toBe(202);
    const { order } = orderResponse.parse(r.json);
    expect(order).toMatchObject({ broker: "paper", instrument_token: 738561, side: "BUY", quantity: 10, price: "2451.35", status: "PENDING", strategy_id: "manual" });
    expect(order.trigger_price).toBeUndefined();
  });

  test("the instrument may be named by exchange and symbol; SL and SL-M take a trigger", async () => {
    const sl = await h.call("POST", "/api/v1/orders", {
      body: { broker: "paper", exchange: "nse", symbol: "tcs", side: "SELL", quantity: 2, order_type: "SL", price: "4100.00", trigger_price: "4105.50", product: "MIS", strategy_id: "momentum_fast" },
    });
    expect(sl.status).toBe(202);
    expect(sl.json.order).toMatchObject({ instrument_token: 2953217, price: "4100.00", trigger_price: "4105.50", strategy_id: "momentum_fast" });
    const slm = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 408065, side: "BUY", quantity: 1, order_type: "SL-M", trigger_price: "1885.20" } });
    expect(slm.status).toBe(202);
    const market = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 408065, side: "BUY", quantity: 1, order_type: "MARKET" } });
    expect(market.status).toBe(202);
  });

  test("the same client_order_id again gives the first order (200), never a second", async () => {
    const body = { ...limitBuy, client_order_id: "cli-42" };
    const first = await h.call("POST", "/api/v1/orders", { body });
    const again = await h.call("POST", "/api/v1/orders", { body });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json.order.order_id).toBe(first.json.order.order_id);
    const all = await h.call("GET", "/api/v1/orders?limit=500");
    expect(all.json.orders.filter((o: { client_order_id?: string }) => o.client_order_id === "cli-42")).toHaveLength(1);
  });

  test("a client_order_id reused for a different order is a 409, not the old order", async () => {
    await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, client_order_id: "cli-43" } });
    const r = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, quantity: 11, client_order_id: "cli-43" } });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("CONFLICT");
  });

  test("prices as JSON numbers are refused, saying to send a string", async () => {
    const r = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, price: 2451.35 } });
    expect(badFields(r)).toEqual(["price"]);
    expect(r.json.error.details[0].message).toContain('decimal string such as "2451.35", not a JSON number');
  });

  test("several bad fields are all named at once", async () => {
    const r = await h.call("POST", "/api/v1/orders", {
      body: { broker: "paper", instrument_token: 738561, side: "HOLD", quantity: 1.5, order_type: "LIMIT", price: "2451.355", qty: 3 },
    });
    expect(badFields(r)).toEqual(["price", "qty", "quantity", "side"]);
    expect(r.json.error.message).toContain("side: must be one of BUY, SELL");
    expect(r.json.error.message).toContain("qty: is not a known field");
  });

  test("missing fields are named as required", async () => {
    const r = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 738561 } });
    expect(badFields(r)).toEqual(["order_type", "quantity", "side"]);
    expect(r.json.error.message).toContain("quantity: is required");
  });

  test.each([
    [{ order_type: "LIMIT", price: undefined }, ["price"], "price: is required for LIMIT orders"],
    [{ order_type: "MARKET" }, ["price"], "price: is not allowed on MARKET orders"],
    [{ order_type: "SL" }, ["trigger_price"], "trigger_price: is required for SL orders"],
    [{ order_type: "SL-M", price: undefined }, ["trigger_price"], "trigger_price: is required for SL-M orders"],
    [{ order_type: "LIMIT", trigger_price: "2450.00" }, ["trigger_price"], "trigger_price: is not allowed on LIMIT orders"],
    [{ instrument_token: undefined }, ["instrument_token"], "instrument_token: is required (or exchange and symbol)"],
    [{ exchange: "NSE" }, ["instrument_token"], "not both"],
    [{ instrument_token: undefined, symbol: "TCS" }, ["exchange"], "exchange: is required with symbol"],
  ])("cross-field rule %j", async (change, fields, text) => {
    const r = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, ...change } });
    expect(badFields(r)).toEqual(fields);
    expect(r.json.error.message).toContain(text);
  });

  test("quantities off the lot size and prices off the tick grid are named", async () => {
    const r = await h.call("POST", "/api/v1/orders", {
      body: { broker: "paper", instrument_token: NIFTY_FUT.instrument_token, side: "BUY", quantity: 30, order_type: "SL", price: "23450.03", trigger_price: "23450.10" },
    });
    expect(badFields(r)).toEqual(["price", "quantity"]);
    expect(r.json.error.message).toContain("quantity: 30 is not a multiple of NIFTY25JANFUT's lot size 25");
    expect(r.json.error.message).toContain("price: 23450.03 is not a multiple of NIFTY25JANFUT's tick size 0.05");
    const ok = await h.call("POST", "/api/v1/orders", {
      body: { broker: "paper", instrument_token: NIFTY_FUT.instrument_token, side: "BUY", quantity: 50, order_type: "LIMIT", price: "23450.05" },
    });
    expect(ok.status).toBe(202);
  });

  test("zero, negative and oversized prices are refused", async () => {
    for (const price of ["0", "-1.00", "12345678901234.00", "1e3", ""]) {
      const r = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, price } });
      expect(badFields(r)).toEqual(["price"]);
    }
  });

  test("an unknown instrument or an inactive broker is a 404", async () => {
    const inst = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, instrument_token: 999 } });
    expect(inst.status).toBe(404);
    expect(inst.json.error).toMatchObject({ code: "NOT_FOUND", message: "unknown instrument 999" });
    const sym = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, instrument_token: undefined, exchange: "NSE", symbol: "NOPE" } });
    expect(sym.status).toBe(404);
    for (const broker of ["zerodha", "robinhood"]) {
      const r = await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, broker } });
      expect(r.status).toBe(404);
      expect(r.json.error.message).toContain(`unknown broker "${broker}"`);
    }
  });
});

describe("GET /orders", () => {
  test("pages newest first with next_cursor until null, honouring filters", async () => {
    for (let i = 0; i < 7; i++) await h.call("POST", "/api/v1/orders", { body: { ...limitBuy, strategy_id: "pager", quantity: i + 1 } });
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/api/v1/orders?strategy_id=pager&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const r = await h.call("GET", q, { key: h.readKey });
      expect(r.status).toBe(200);
      const page = orderListResponse.parse(r.json);
      seen.push(...page.orders.map((o) => o.quantity));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  test("query parameters are validated, unknown ones named", async () => {
    for (const [q, field] of [["limit=0", "limit"], ["limit=501", "limit"], ["limit=ten", "limit"], ["status=DONE", "status"], ["stauts=FILLED", "stauts"]] as const) {
      const r = await h.call("GET", `/api/v1/orders?${q}`);
      expect(badFields(r)).toEqual([field]);
    }
  });

  test("a bad cursor from the services is a 422, an inactive broker a 404", async () => {
    expect(badFields(await h.call("GET", "/api/v1/orders?cursor=bm9wZQ"))).toEqual(["cursor"]);
    expect((await h.call("GET", "/api/v1/orders?broker=zerodha")).status).toBe(404);
  });
});

describe("GET and DELETE /orders/:id", () => {
  test("get has the lifecycle events, with money in them as strings; fills show an average price", async () => {
    const placed = await h.call("POST", "/api/v1/orders", { body: limitBuy });
    const id = placed.json.order.order_id as string;
    h.services.fill(id, 10, 245_130);
    const r = await h.call("GET", `/api/v1/orders/${id}`, { key: h.readKey });
    expect(r.status).toBe(200);
    const { order } = orderResponse.parse(r.json);
    expect(order).toMatchObject({ status: "FILLED", filled_quantity: 10, average_price: "2451.30" });
    expect(order.events?.[0]).toMatchObject({ type: "signal.generated", data: { price: "2451.35", quantity: 10 } });
  });

  test("cancel is 202; an unknown order is 404 for both; a finished one is 409", async () => {
    const placed = await h.call("POST", "/api/v1/orders", { body: limitBuy });
    const id = placed.json.order.order_id as string;
    const r = await h.call("DELETE", `/api/v1/orders/${id}`);
    expect(r.status).toBe(202);
    expect(orderResponse.parse(r.json).order.order_id).toBe(id);
    expect((await h.call("GET", "/api/v1/orders/nope")).status).toBe(404);
    const del = await h.call("DELETE", "/api/v1/orders/nope");
    expect(del.status).toBe(404);
    expect(del.json.error).toEqual({ code: "NOT_FOUND", message: 'no order "nope"', details: null });
    h.services.fill(id, 10, 245_135);
    expect((await h.call("DELETE", `/api/v1/orders/${id}`)).status).toBe(409);
  });
});
