/**
 * OpenAlgo's order endpoints end to end on the embedded gateway (FEED=none: prices are the ticks
 * this test posts), as an OpenAlgo client meets them, with our own REST API agreeing: place →
 * orderstatus complete → our order and portfolio; a LIMIT far from the market modified and then
 * cancelled; cancel-all; a smart order to a target size, twice; close position leaves everything
 * flat; refusals in OpenAlgo's error shape.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import type { GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";
import { contractCall, oaClient, embeddedGateway } from "./support.ts";

slowTests();

const KEY = "ap_openalgo_orders_e2e_0123456789";
const SBIN = 779521;
const INFY = 408065;
const RELIANCE = 738561;

type Oa = ReturnType<typeof oaClient>;
type Api = ReturnType<typeof apiClient>;

describe("OpenAlgo orders on the embedded gateway", () => {
  let gw: GatewayProcess;
  let oa: Oa;
  let api: Api;
  let url: string;

  const tick = async (instrument_token: number, last_price: string) =>
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token, last_price, exchange_ts: new Date().toISOString() }] })).status).toBe(202);
  const statusOf = async (orderid: string) => (await contractCall(oa, "orderstatus", { strategy: "Test Strategy", orderid })).body.data;
  const statusWhen = (orderid: string, what: string, ready: (d: any) => boolean) =>
    until(`order ${orderid}: ${what}`, async () => {
      const d = await statusOf(orderid);
      return ready(d) ? d : undefined;
    }, 15_000, 200);
  const positionOf = async (strategy: string, exchange: string, symbol: string) =>
    (await contractCall(oa, "openposition", { strategy, exchange, symbol, product: "MIS" })).body.quantity as number;

  beforeAll(async () => {
    ({ gw, url, api, oa } = await embeddedGateway(KEY));
    await tick(SBIN, "812.65");
    await tick(INFY, "1885.20");
    await tick(RELIANCE, "1290.45");
  }, 60_000);
  afterAll(async () => {
    if (gw) expect((await gw.interrupt()).code).toBe(0);
  });

  test("placeorder → orderstatus complete → our REST order and portfolio agree", async () => {
    const placed = await contractCall(oa, "placeorder", { strategy: "Test Strategy", exchange: "NSE", symbol: "SBIN", action: "BUY", quantity: "3", pricetype: "MARKET", product: "MIS" });
    expect(placed.status).toBe(200);
    const orderid = placed.body.orderid as string;
    // The order fills on the next tick.
    await tick(SBIN, "812.65");
    const done = await statusWhen(orderid, "complete", (d) => d.order_status === "complete");
    expect(done).toMatchObject({ action: "BUY", exchange: "NSE", symbol: "SBIN", orderid, pricetype: "MARKET", product: "MIS", quantity: 3, price: 0, trigger_price: 0 });
    expect(done.timestamp).toMatch(/^\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2}$/);

    const ours = (await api.get(`/api/v1/orders/${orderid}`)).body.order;
    expect(ours).toMatchObject({ broker: "paper", strategy_id: "test_strategy", instrument_token: SBIN, side: "BUY", quantity: 3, filled_quantity: 3, status: "FILLED" });
    // OpenAlgo's number of rupees is our decimal string's amount.
    expect(done.average_price).toBe(Number(ours.average_price));
    const positions = await until("the position", async () => {
      const p = (await api.get("/api/v1/portfolios/paper/positions")).body.positions.find((x: any) => x.strategy_id === "test_strategy" && x.instrument_token === SBIN);
      return p?.quantity === 3 ? p : undefined;
    }, 15_000, 200);
    expect(positions.quantity).toBe(3);
    expect(await positionOf("Test Strategy", "NSE", "SBIN")).toBe(3);
  }, 60_000);

  test("a LIMIT away from the market (inside the price band) → modifyorder → orderstatus shows the new price and quantity → cancelorder", async () => {
    const placed = await contractCall(oa, "placeorder", { strategy: "Test Strategy", exchange: "NSE", symbol: "INFY", action: "BUY", quantity: "10", pricetype: "LIMIT", product: "MIS", price: "1800.00", trigger_price: "0", disclosed_quantity: "0" });
    const orderid = placed.body.orderid as string;
    await statusWhen(orderid, "open", (d) => d.order_status === "open");

    const modified = await contractCall(oa, "modifyorder", {
      strategy: "Test Strategy", exchange: "NSE", symbol: "INFY", orderid, action: "BUY", product: "MIS", pricetype: "LIMIT",
      price: "1810.50", quantity: "4", disclosed_quantity: "0", trigger_price: "0",
    });
    expect(modified.body).toEqual({ status: "success", orderid, mode: "analyze" });
    const after = await statusWhen(orderid, "the new price and quantity", (d) => d.quantity === 4 && d.price === 1810.5);
    expect(after.order_status).toBe("open");

    const cancelled = await contractCall(oa, "cancelorder", { strategy: "Test Strategy", orderid });
    expect(cancelled.body).toEqual({ status: "success", orderid, mode: "analyze" });
    await statusWhen(orderid, "cancelled", (d) => d.order_status === "cancelled");
    // A finished order cannot be cancelled again: OpenAlgo's 400.
    const again = await contractCall(oa, "cancelorder", { strategy: "Test Strategy", orderid });
    expect(again.status).toBe(400);
    expect(again.body.message).toContain("CANCELLED");
  }, 60_000);

  test("cancelallorder cancels every open order of the broker, whichever strategy placed it", async () => {
    const a = (await contractCall(oa, "placeorder", { strategy: "Test Strategy", exchange: "NSE", symbol: "INFY", action: "BUY", quantity: "1", pricetype: "LIMIT", product: "MIS", price: "1800" })).body.orderid;
    const b = (await contractCall(oa, "placeorder", { strategy: "Other", exchange: "NSE", symbol: "RELIANCE", action: "SELL", quantity: "2", pricetype: "LIMIT", product: "MIS", price: "1350" })).body.orderid;
    // At once, as a script would: the orders may not have reached the exchange yet (PENDING).
    const r = await contractCall(oa, "cancelallorder", { strategy: "Test Strategy" });
    expect(r.body.canceled_orders).toEqual(expect.arrayContaining([a, b]));
    expect(r.body).toMatchObject({ status: "success", failed_cancellations: [], message: `Canceled ${r.body.canceled_orders.length} orders. Failed to cancel 0 orders.` });
    await statusWhen(a, "cancelled", (d) => d.order_status === "cancelled");
    await statusWhen(b, "cancelled", (d) => d.order_status === "cancelled");
  }, 60_000);

  test("an order cancelled the moment it is placed ends cancelled, never left resting", async () => {
    for (let i = 0; i < 5; i++) {
      const placed = await contractCall(oa, "placeorder", { strategy: "Test Strategy", exchange: "NSE", symbol: "INFY", action: "BUY", quantity: "1", pricetype: "LIMIT", product: "MIS", price: "1800" });
      const orderid = placed.body.orderid as string;
      expect((await contractCall(oa, "cancelorder", { strategy: "Test Strategy", orderid })).body).toEqual({ status: "success", orderid, mode: "analyze" });
      await statusWhen(orderid, "cancelled", (d) => d.order_status === "cancelled");
    }
  }, 60_000);

  test("placesmartorder to a target size; again, nothing placed", async () => {
    const smart = { strategy: "Smart", exchange: "NSE", symbol: "RELIANCE", action: "BUY", quantity: "1", position_size: "5", pricetype: "MARKET", product: "MIS", price: "0", trigger_price: "0", disclosed_quantity: "0" };
    const first = await contractCall(oa, "placesmartorder", smart);
    await tick(RELIANCE, "1290.45");
    await statusWhen(first.body.orderid, "complete", (d) => d.order_status === "complete" && d.quantity === 5);
    await until("the position at 5", async () => (await positionOf("Smart", "NSE", "RELIANCE")) === 5, 15_000, 25);

    const again = await oa.call("placesmartorder", smart);
    // OpenAlgo's own answer (its OpenAPI document has no schema for it: no orderid).
    expect(again).toEqual({ status: 200, body: { status: "success", message: "Positions Already Matched. No Action needed.", mode: "analyze" } });

    const down = await contractCall(oa, "placesmartorder", { ...smart, position_size: "2" });
    await tick(RELIANCE, "1290.45");
    expect(await statusWhen(down.body.orderid, "complete", (d) => d.order_status === "complete")).toMatchObject({ action: "SELL", quantity: 3 });
    await until("the position at 2", async () => (await positionOf("Smart", "NSE", "RELIANCE")) === 2, 15_000, 25);
  }, 60_000);

  test("closeposition leaves every position flat", async () => {
    await contractCall(oa, "placeorder", { strategy: "Shorts", exchange: "NSE", symbol: "INFY", action: "SELL", quantity: "2", pricetype: "MARKET", product: "MIS" });
    await tick(INFY, "1885.20");
    await until("the short", async () => (await positionOf("Shorts", "NSE", "INFY")) === -2, 15_000, 25);

    const closed = await contractCall(oa, "closeposition", { strategy: "Python" });
    expect(closed.body).toEqual({ status: "success", message: "All Open Positions Squared Off", mode: "analyze" });
    await tick(INFY, "1885.20");
    await tick(SBIN, "812.65");
    await tick(RELIANCE, "1290.45");
    await until("every position flat", async () => {
      const positions = (await api.get("/api/v1/portfolios/paper/positions")).body.positions as Array<{ quantity: number }>;
      return positions.length > 0 && positions.every((p) => p.quantity === 0);
    }, 20_000, 200);
    expect((await contractCall(oa, "closeposition", { strategy: "Python" })).body.message).toBe("No open positions to close");
  }, 60_000);

  test("a wrong apikey, an unknown symbol and a price finer than the tick: OpenAlgo's error shape", async () => {
    const order = { strategy: "Test Strategy", exchange: "NSE", symbol: "SBIN", action: "BUY", quantity: "1", pricetype: "LIMIT", product: "MIS", price: "800.00" };
    const wrong = await contractCall(oaClient(url, "ap_not_a_key_of_this_gateway_000000"), "placeorder", order);
    expect(wrong).toEqual({ status: 403, body: { status: "error", message: "Invalid openalgo apikey" } });
    const unknown = await contractCall(oa, "placeorder", { ...order, symbol: "NOSUCH" });
    expect(unknown).toEqual({ status: 400, body: { status: "error", message: 'symbol: unknown symbol "NOSUCH" on "NSE"', mode: "analyze" } });
    const fine = await contractCall(oa, "placeorder", { ...order, price: "800.03" });
    expect(fine).toEqual({ status: 400, body: { status: "error", message: "price: 800.03 is not a multiple of SBIN's tick size 0.05; prices are never rounded", mode: "analyze" } });
    const missing = await contractCall(oa, "orderstatus", { strategy: "Test Strategy", orderid: "no-such-order" });
    expect(missing).toEqual({ status: 404, body: { status: "error", message: "Order no-such-order not found", mode: "analyze" } });
  }, 60_000);
});
