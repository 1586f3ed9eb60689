/**
 * OpenAlgo's live mode: a key toggled to live trades zerodha, through Kite Connect (the fake Kite
 * server in test/kite). placeorder reaches Kite as an ordinary order of ours; Kite's postback fills
 * it; orderstatus says complete, in OpenAlgo's words and without analyze's mark; modify and cancel
 * reach Kite too. The paper book is not touched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeKite, type FakeKite } from "../kite/server/kite-server.ts";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";
import { contractCall, oaClient } from "./support.ts";

slowTests();

const KEY = "ap_openalgo_live_e2e_0123456789ab";
const KITE = { apiKey: "kite_oa_key", apiSecret: "kite_oa_secret", accessToken: "kite_oa_token" };
const INFY = 408065;

describe("OpenAlgo live mode: zerodha through the fake Kite server", () => {
  let rest: FakeKite;
  let gw: GatewayProcess;
  let url: string;
  let oa: ReturnType<typeof oaClient>;
  let api: ReturnType<typeof apiClient>;

  const venueIdOf = (orderid: string) =>
    until(`order ${orderid} at Kite`, async () => {
      const o = (await api.get(`/api/v1/orders/${orderid}`)).body.order;
      return o.status === "OPEN" ? (o.events.find((e: any) => e.type === "order.submitted").data.venue_order_id as string) : undefined;
    }, 15_000, 100);
  const statusWhen = (orderid: string, ready: (d: any) => boolean) =>
    until(`order ${orderid} status`, async () => {
      const r = await contractCall(oa, "orderstatus", { strategy: "Live", orderid });
      return ready(r.body.data) ? r.body : undefined;
    }, 15_000, 200);

  beforeAll(async () => {
    rest = await startFakeKite(KITE);
    rest.setLastPrice("INFY", 188_520);
    gw = spawnGateway({
      PORT: "0",
      ACTIVE_BROKERS: "paper,zerodha",
      FEED: "none",
      MARKET_HOURS: "off",
      KITE_API_KEY: KITE.apiKey,
      KITE_API_SECRET: KITE.apiSecret,
      KITE_ACCESS_TOKEN: KITE.accessToken,
      KITE_BASE_URL: rest.url,
      BOOTSTRAP_API_KEY: KEY,
    });
    url = await gw.url(30_000);
    api = apiClient(url, KEY);
    oa = oaClient(url, KEY);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 30_000);
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: INFY, last_price: "1885.20", exchange_ts: new Date().toISOString() }] })).status).toBe(202);
    const live = await contractCall(oa, "analyzer/toggle", { mode: false });
    expect(live.body.data).toMatchObject({ mode: "live", analyze_mode: false });
  }, 60_000);
  afterAll(async () => {
    if (gw) expect((await gw.interrupt()).code).toBe(0);
    await rest?.stop();
  });

  test("placeorder reaches Kite; its postback fills it; orderstatus says complete", async () => {
    const placed = await contractCall(oa, "placeorder", { strategy: "Live", exchange: "NSE", symbol: "INFY", action: "BUY", quantity: "2", pricetype: "MARKET", product: "CNC" });
    expect(placed.body).toEqual({ status: "success", orderid: expect.any(String) });
    const orderid = placed.body.orderid as string;
    const venueId = await venueIdOf(orderid);
    const sent = rest.orderRequests().find((r) => r.method === "POST");
    expect(sent?.form).toMatchObject({ exchange: "NSE", tradingsymbol: "INFY", transaction_type: "BUY", order_type: "MARKET", quantity: "2", product: "CNC" });
    expect((await contractCall(oa, "orderstatus", { strategy: "Live", orderid })).body.data.order_status).toBe("open");

    expect((await rest.sendPostback(`${url}/api/v1/kite/postback`, venueId)).status).toBe(200);
    const done = await statusWhen(orderid, (d) => d.order_status === "complete");
    expect(done).toEqual({
      status: "success",
      data: { action: "BUY", average_price: 1885.2, exchange: "NSE", order_status: "complete", orderid, price: 0, pricetype: "MARKET", product: "CNC", quantity: 2, symbol: "INFY", timestamp: expect.any(String), trigger_price: 0 },
    });
    const ours = (await api.get(`/api/v1/orders/${orderid}`)).body.order;
    expect(ours).toMatchObject({ broker: "zerodha", strategy_id: "live", status: "FILLED", average_price: "1885.20" });
    expect((await contractCall(oa, "openposition", { strategy: "Live", exchange: "NSE", symbol: "INFY", product: "CNC" })).body).toEqual({ status: "success", quantity: 2 });
    // The paper book has nothing of it.
    expect((await api.get("/api/v1/portfolios/paper/positions")).body.positions).toEqual([]);
  }, 60_000);

  test("a resting LIMIT: modifyorder reaches Kite as a PUT; cancelorder as a DELETE", async () => {
    const placed = await contractCall(oa, "placeorder", { strategy: "Live", exchange: "NSE", symbol: "INFY", action: "BUY", quantity: "3", pricetype: "LIMIT", product: "MIS", price: "1850.00" });
    const orderid = placed.body.orderid as string;
    const venueId = await venueIdOf(orderid);
    const modified = await contractCall(oa, "modifyorder", { strategy: "Live", exchange: "NSE", symbol: "INFY", orderid, action: "BUY", product: "MIS", pricetype: "LIMIT", price: "1860.00", quantity: "2", disclosed_quantity: "0", trigger_price: "0" });
    expect(modified.body).toEqual({ status: "success", orderid });
    const put = await until("the modify at Kite", async () => rest.orderRequests().find((r) => r.method === "PUT" && r.path === `/orders/regular/${venueId}`), 10_000);
    expect(put.form).toEqual({ quantity: "2", order_type: "LIMIT", price: "1860.00" });
    await statusWhen(orderid, (d) => d.quantity === 2 && d.price === 1860);

    expect((await contractCall(oa, "cancelorder", { strategy: "Live", orderid })).body).toEqual({ status: "success", orderid });
    await until("the cancel at Kite", async () => rest.orderRequests().find((r) => r.method === "DELETE" && r.path === `/orders/regular/${venueId}`), 10_000);
  }, 60_000);

  test("a paper order is not this live key's to see", async () => {
    const paper = await api.post("/api/v1/orders", { broker: "paper", instrument_token: INFY, side: "BUY", quantity: 1, order_type: "LIMIT", price: "1800.00" });
    const r = await contractCall(oa, "orderstatus", { strategy: "Live", orderid: paper.body.order.order_id });
    expect(r).toEqual({ status: 404, body: { status: "error", message: `Order ${paper.body.order.order_id} not found` } });
  });
});
