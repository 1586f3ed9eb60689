/**
 * OpenAlgo's order routes in-process, over the fake services: what each request becomes in our
 * PlaceOrder / modify / cancel-all / square-off, and what is refused (a 400 naming the field, in
 * OpenAlgo's shape) before anything is placed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { openAlgoTime } from "../../gateway/openalgo/orders-manage.ts";
import { smartOrder } from "../../gateway/openalgo/orders-place.ts";
import { strategyIdOf } from "../../gateway/openalgo/order-fields.ts";
import { harness, type Harness } from "../api/support.ts";
import { responseProblems } from "./contract.ts";

const RELIANCE = 738561;

describe("OpenAlgo order routes (in-process)", () => {
  let h: Harness;
  const post = (name: string, body: Record<string, unknown>) => h.call("POST", `/api/v1/${name}`, { body: { apikey: h.tradeKey, ...body }, key: null });
  beforeAll(async () => {
    h = await harness({ openAlgo: true });
  }, 30_000);
  afterAll(async () => h.close());
  beforeEach(() => {
    h.services.placeCommands.length = 0;
  });

  const order = { strategy: "Test Strategy", exchange: "NSE", symbol: "RELIANCE", action: "buy", quantity: "10", pricetype: "LIMIT", product: "CNC", price: "1290.45", trigger_price: "0", disclosed_quantity: "0" };

  test("placeorder becomes our order: strategy_id, side, exact paise, product; the answer is OpenAlgo's", async () => {
    const r = await post("placeorder", order);
    expect(r.status).toBe(200);
    expect(responseProblems("/placeorder", r.status, r.json)).toEqual([]);
    expect(r.json).toEqual({ status: "success", orderid: expect.any(String), mode: "analyze" });
    expect(h.services.placeCommands).toEqual([
      { broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 10, order_type: "LIMIT", price: 129_045, trigger_price: undefined, product: "CNC", strategy_id: "test_strategy" },
    ]);
  });

  test("refusals name the field and place nothing", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ price: "1290.47" }, "price: 1290.47 is not a multiple of RELIANCE's tick size 0.05"],
      [{ price: "1290.451" }, "price: 1290.451 is finer than a paisa"],
      [{ price: "0" }, "price: is required for LIMIT orders"],
      [{ pricetype: "MARKET" }, "price: MARKET orders take no price"],
      [{ symbol: "NOSUCH" }, 'symbol: unknown symbol "NOSUCH" on "NSE"'],
      [{ disclosed_quantity: "5" }, "disclosed_quantity"],
      [{ quantity: "1.5" }, "quantity: must be a whole number"],
      [{ action: "HOLD" }, "action"],
      [{ strategy: "42" }, "strategy:"],
      [{ exchange: "NYSE" }, "exchange"],
    ];
    for (const [change, message] of cases) {
      const r = await post("placeorder", { ...order, ...change });
      expect({ change, status: r.status }).toEqual({ change, status: 400 });
      expect(r.json.status).toBe("error");
      expect(r.json.message).toContain(message);
    }
    expect(h.services.placeCommands).toEqual([]);
  });

  test("strategy names become strategy_ids", () => {
    expect(strategyIdOf("Python")).toBe("python");
    expect(strategyIdOf("Test Strategy")).toBe("test_strategy");
    expect(strategyIdOf("  My-Strat 2 ")).toBe("my_strat_2");
    expect(() => strategyIdOf("123")).toThrow("strategy:");
    expect(() => strategyIdOf("---")).toThrow("strategy:");
  });

  test("placesmartorder follows OpenAlgo's rules over the strategy's position", async () => {
    expect(smartOrder(0, 5, "SELL", 1)).toEqual({ side: "BUY", quantity: 5 });
    expect(smartOrder(2, 5, "SELL", 1)).toEqual({ side: "BUY", quantity: 3 });
    expect(smartOrder(5, -5, "BUY", 1)).toEqual({ side: "SELL", quantity: 10 });
    expect(smartOrder(-3, 0, "SELL", 1)).toEqual({ side: "BUY", quantity: 3 });
    expect(smartOrder(0, 0, "SELL", 4)).toEqual({ side: "SELL", quantity: 4 });
    expect(smartOrder(0, 0, "SELL", 0)).toBeUndefined();
    expect(smartOrder(5, 5, "BUY", 1)).toBeUndefined();

    // The fake portfolio: momentum_fast holds 10 RELIANCE.
    const smart = { strategy: "momentum_fast", exchange: "NSE", symbol: "RELIANCE", action: "BUY", quantity: "1", pricetype: "MARKET", product: "MIS" };
    const matched = await post("placesmartorder", { ...smart, position_size: "10" });
    expect(matched.json).toEqual({ status: "success", message: "Positions Already Matched. No Action needed.", mode: "analyze" });
    const down = await post("placesmartorder", { ...smart, position_size: "4" });
    expect(down.json.orderid).toEqual(expect.any(String));
    // Another strategy's position does not count: "Python" holds nothing, so 4 is bought.
    await post("placesmartorder", { ...smart, strategy: "Python", position_size: 4 });
    expect(h.services.placeCommands.map((c) => [c.strategy_id, c.side, c.quantity])).toEqual([
      ["momentum_fast", "SELL", 6],
      ["python", "BUY", 4],
    ]);
  });

  test("basketorder: BUYs first, each with its orderid or its error; splitorder: the parts", async () => {
    const basket = await post("basketorder", {
      strategy: "Python",
      orders: [
        { symbol: "INFY", exchange: "NSE", action: "SELL", quantity: "1", pricetype: "MARKET", product: "MIS" },
        { symbol: "NOSUCH", exchange: "NSE", action: "BUY", quantity: "1", pricetype: "MARKET", product: "MIS" },
        { symbol: "SBIN", exchange: "NSE", action: "BUY", quantity: "2", pricetype: "MARKET", product: "MIS" },
      ],
    });
    expect(basket.status).toBe(200);
    expect(responseProblems("/basketorder", basket.status, basket.json)).toEqual([]);
    expect(basket.json.results).toEqual([
      { symbol: "NOSUCH", status: "error", message: 'symbol: unknown symbol "NOSUCH" on "NSE"' },
      { symbol: "SBIN", exchange: "NSE", product: "MIS", status: "success", orderid: expect.any(String) },
      { symbol: "INFY", exchange: "NSE", product: "MIS", status: "success", orderid: expect.any(String) },
    ]);

    h.services.placeCommands.length = 0;
    const split = await post("splitorder", { strategy: "Python", symbol: "SBIN", exchange: "NSE", action: "SELL", quantity: "105", splitsize: "20", pricetype: "MARKET", product: "MIS" });
    expect(responseProblems("/splitorder", split.status, split.json)).toEqual([]);
    expect(split.json).toMatchObject({ status: "success", total_quantity: 105, split_size: 20 });
    expect(split.json.results.map((r: any) => [r.order_num, r.quantity, r.status])).toEqual([1, 2, 3, 4, 5, 6].map((n) => [n, n === 6 ? 5 : 20, "success"]));
    expect(h.services.placeCommands.map((c) => c.quantity)).toEqual([20, 20, 20, 20, 20, 5]);
    const tooMany = await post("splitorder", { strategy: "Python", symbol: "SBIN", exchange: "NSE", action: "SELL", quantity: "1000", splitsize: "1" });
    expect(tooMany).toMatchObject({ status: 400, json: { status: "error", message: "Total number of orders would exceed maximum limit of 100" } });
  });

  test("modifyorder sends what changed; it cannot change side, symbol or product; another broker's order is not found", async () => {
    const placed = (await post("placeorder", order)).json.orderid as string;
    const modify = { ...order, orderid: placed, action: "BUY", quantity: "4", price: "1280.00" };
    const r = await post("modifyorder", modify);
    expect(r.json).toEqual({ status: "success", orderid: placed, mode: "analyze" });
    expect(h.services.modifies.at(-1)).toEqual({ order_id: placed, quantity: 4, order_type: "LIMIT", price: 128_000, changed: ["quantity", "price"] });
    expect((await post("modifyorder", { ...modify, action: "SELL" })).json.message).toContain("cannot change its side");
    expect((await post("modifyorder", { ...modify, symbol: "INFY" })).json.message).toContain("is not on NSE:INFY");
    expect((await post("modifyorder", { ...modify, product: "MIS" })).json.message).toContain("cannot change its product");
    const missing = await post("modifyorder", { ...modify, orderid: "no-such-order" });
    expect(missing).toMatchObject({ status: 404, json: { status: "error", message: "Order no-such-order not found" } });
  });

  test("cancelallorder and closeposition act on the key's broker only", async () => {
    const all = await post("cancelallorder", { strategy: "Python" });
    expect(responseProblems("/cancelallorder", all.status, all.json)).toEqual([]);
    expect(h.services.cancelAllFilters.at(-1)).toEqual({ broker: "paper" });
    expect(all.json.message).toBe(`Canceled ${all.json.canceled_orders.length} orders. Failed to cancel 0 orders.`);
    // The strategy selects nothing here: a name that is no strategy_id of ours is taken as sent.
    expect((await post("cancelallorder", { strategy: "2024 Q1" })).status).toBe(200);
    const close = await post("closeposition", { strategy: "Python" });
    expect(close.json).toEqual({ status: "success", message: "All Open Positions Squared Off", mode: "analyze" });
  });

  test("orderstatus times are India's, in OpenAlgo's format", () => {
    expect(openAlgoTime("2025-08-28T04:29:10.000Z")).toBe("28-Aug-2025 09:59:10");
  });

  test("a read key may ask orderstatus and openposition but not place", async () => {
    const r = await h.call("POST", "/api/v1/placeorder", { body: { apikey: h.readKey, ...order }, key: null });
    expect(r.status).toBe(403);
    const pos = await h.call("POST", "/api/v1/openposition", { body: { apikey: h.readKey, strategy: "momentum_fast", exchange: "NSE", symbol: "RELIANCE", product: "MIS" }, key: null });
    expect(pos.json).toEqual({ status: "success", quantity: 10, mode: "analyze" });
  });
});
