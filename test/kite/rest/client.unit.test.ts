/**
 * Every KiteClient method against the fake Kite: the exact request Kite receives (method, path,
 * headers, form fields) and the typed answer, prices in paise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KiteClient } from "../../../src/kite/rest/client.ts";
import { kiteTag } from "../../../src/kite/rest/params.ts";
import { kiteOrderStatus } from "../../../src/kite/rest/postback.ts";
import type { FakeKite } from "../server/kite-server.ts";
import { kiteWithClient, limitBuy, marketBuy } from "./support.ts";

let fake: FakeKite;
let client: KiteClient;
beforeAll(async () => {
  ({ fake, client } = await kiteWithClient());
});
afterAll(() => fake.stop());

const last = () => fake.requests.at(-1)!;

describe("orders", () => {
  test("placeOrder sends Kite's form fields with rupee prices, its version and token headers", async () => {
    const tag = kiteTag("01890a5d-ac96-774b-bcce-b302099a8057");
    const id = await client.placeOrder("regular", { ...limitBuy, tag });
    expect(id).toMatch(/^\d{15}$/);
    const r = last();
    expect([r.method, r.path]).toEqual(["POST", "/orders/regular"]);
    expect(r.headers["x-kite-version"]).toBe("3");
    expect(r.headers.authorization).toBe(`token ${fake.apiKey}:${fake.accessToken}`);
    expect(r.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(r.form).toEqual({
      exchange: "NSE",
      tradingsymbol: "INFY",
      transaction_type: "BUY",
      order_type: "LIMIT",
      quantity: "5",
      product: "CNC",
      price: "1450.50",
      validity: "DAY",
      tag,
    });

    const [o] = (await client.orders()).filter((x) => x.order_id === id);
    expect(o).toMatchObject({ status: "OPEN", price: 145050, trigger_price: 0, quantity: 5, pending_quantity: 5, filled_quantity: 0, tag, instrument_token: 408065 });
    expect(o!.order_timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    expect(kiteOrderStatus(o!)).toBe("open");
  });

  test("a MARKET order completes at the last price: history, its trade, the trade book", async () => {
    fake.setLastPrice("INFY", 188_520);
    const id = await client.placeOrder("regular", marketBuy);
    const history = await client.orderHistory(id);
    expect(last().path).toBe(`/orders/${id}`);
    expect(history.map((h) => h.status)).toEqual(["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING", "COMPLETE"]);
    expect(history.at(-1)).toMatchObject({ average_price: 188_520, filled_quantity: 2, pending_quantity: 0 });

    const trades = await client.orderTrades(id);
    expect(last().path).toBe(`/orders/${id}/trades`);
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ order_id: id, quantity: 2, average_price: 188_520, transaction_type: "BUY", tradingsymbol: "INFY" });
    expect((await client.trades()).map((t) => t.trade_id)).toContain(trades[0]!.trade_id);
    expect(last().path).toBe("/trades");
  });

  test("modifyOrder PUTs only the changed fields; the book shows them", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    expect(await client.modifyOrder("regular", id, { price: 145100, quantity: 6 })).toBe(id);
    expect([last().method, last().path, last().form]).toEqual(["PUT", `/orders/regular/${id}`, { price: "1451.00", quantity: "6" }]);
    const o = (await client.orderHistory(id)).at(-1)!;
    expect(o).toMatchObject({ status: "OPEN", price: 145100, quantity: 6 });
  });

  test("cancelOrder DELETEs without a body; the order ends CANCELLED", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    expect(await client.cancelOrder("regular", id)).toBe(id);
    expect([last().method, last().path, last().body]).toEqual(["DELETE", `/orders/regular/${id}`, ""]);
    const o = (await client.orderHistory(id)).at(-1)!;
    expect(o).toMatchObject({ status: "CANCELLED", cancelled_quantity: 5, pending_quantity: 0 });
    expect(kiteOrderStatus(o)).toBe("cancelled");
  });

  test("fills at two prices: partially filled, then filled, with a sub-paisa average rounded", async () => {
    const id = await client.placeOrder("regular", { ...limitBuy, tradingsymbol: "SBIN", quantity: 2, price: 81_270 });
    fake.fill(id, { quantity: 1, price: 81_265 });
    const partial = (await client.orders()).find((o) => o.order_id === id)!;
    expect(kiteOrderStatus(partial)).toBe("partially_filled");
    fake.fill(id, { quantity: 1, price: 81_270 });
    const done = (await client.orders()).find((o) => o.order_id === id)!;
    // Kite's 812.675 (two fills averaged) is between paise: the nearest, half away from zero.
    expect(done).toMatchObject({ status: "COMPLETE", filled_quantity: 2, average_price: 81_268 });
    expect((await client.orderTrades(id)).map((t) => t.average_price)).toEqual([81_265, 81_270]);
  });
});

describe("portfolio and margins", () => {
  test("positions are derived from the fills, amounts in paise", async () => {
    const p = await client.positions();
    expect(last().path).toBe("/portfolio/positions");
    const sbin = p.net.find((x) => x.tradingsymbol === "SBIN")!;
    expect(sbin).toMatchObject({ quantity: 2, buy_quantity: 2, buy_value: 162_535, average_price: 81_268, sell_quantity: 0 });
    expect(p.day.length).toBe(p.net.length);
  });

  test("holdings: Kite's float noise becomes exact paise", async () => {
    const h = await client.holdings();
    expect(last().path).toBe("/portfolio/holdings");
    expect(h.find((x) => x.tradingsymbol === "INFY")).toMatchObject({ average_price: 145_047, last_price: 188_520, pnl: 217_367, quantity: 5 });
    expect(h.find((x) => x.tradingsymbol === "SBIN")).toMatchObject({ pnl: -3_780, day_change: -550 });
  });

  test("margins: every figure in paise", async () => {
    const m = await client.margins();
    expect(last().path).toBe("/user/margins");
    expect(m.equity).toMatchObject({ enabled: true, net: 9_972_505 });
    expect(m.equity!.available.cash).toBe(24_543_160);
    expect(m.equity!.utilised.debits).toBe(14_570_655);
  });

  test("every request carried the version and token headers, and none was refused", () => {
    for (const r of fake.requests) {
      expect(r.headers["x-kite-version"]).toBe("3");
      expect(r.headers.authorization).toBe(`token ${fake.apiKey}:${fake.accessToken}`);
      expect(r.status).toBe(200);
    }
  });
});
