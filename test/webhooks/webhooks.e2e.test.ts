/**
 * Strategy webhooks on a real embedded gateway (FEED=none, prices from posted ticks): a webhook
 * made through the API; a TradingView alert and a ChartInk alert each become the right paper
 * orders of the strategy and fill; position_size takes the position to the target and then
 * places nothing; a replayed alert places nothing more; wrong and revoked tokens are 404.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_webhooks_e2e_key_0123456789ab";
const STRATEGY = "tv_breakout";
const SBIN = 779521;
const RELIANCE = 738561;
const TCS = 2953217;

let gw: GatewayProcess;
let url: string;
let api: ReturnType<typeof apiClient>;
let token: string;
let webhookId: string;

async function alert(body: unknown, t = token): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/webhooks/${t}`, { method: "POST", headers: { "content-type": "text/plain; charset=utf-8" }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

const settled = (id: string, status: string) =>
  until(`order ${id} to be ${status}`, async () => {
    const order = (await api.get(`/api/v1/orders/${id}`)).body.order;
    return order?.status === status ? (order as Record<string, any>) : undefined;
  }, 15_000);

const positionIs = (token: number, quantity: number) =>
  until(`${STRATEGY}'s position in ${token} to be ${quantity}`, async () => {
    const r = await api.get("/api/v1/portfolios/paper/positions");
    const p = r.status === 200 ? (r.body.positions as Array<Record<string, any>>).find((x) => x.strategy_id === STRATEGY && x.instrument_token === token) : undefined;
    return (p?.quantity ?? 0) === quantity ? true : undefined;
  }, 15_000);

const strategyOrders = async () => (await api.get(`/api/v1/orders?strategy_id=${STRATEGY}&limit=100`)).body.orders as Array<Record<string, any>>;

beforeAll(async () => {
  gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
  url = await gw.url(30_000);
  api = apiClient(url, KEY);
  await until("the gateway to be ready", async () => (await fetch(`${url}/ready`)).status === 200, 30_000);
  for (const id of ["momentum_fast", "mean_reversion_bank"]) expect((await api.patch(`/api/v1/strategies/${id}`, { enabled: false })).status).toBe(200);
  // A strategy of its own with no instruments: it makes no signals, only its webhook's orders.
  expect((await api.post("/api/v1/strategies", { id: STRATEGY, kind: "momentum", params: { lookback: 20, threshold_bps: 15, quantity: 1 }, instruments: [], brokers: ["paper"] })).status).toBe(201);
  const made = await api.post(`/api/v1/strategies/${STRATEGY}/webhooks`, { quantity: 2 });
  expect(made.status).toBe(201);
  token = made.body.token;
  webhookId = made.body.webhook.id;
  const ts = new Date().toISOString();
  const ticks = await api.post("/api/v1/ticks", {
    ticks: [
      { instrument_token: SBIN, last_price: "812.35", exchange_ts: ts },
      { instrument_token: RELIANCE, last_price: "1290.00", exchange_ts: ts },
      { instrument_token: TCS, last_price: "4120.05", exchange_ts: ts },
    ],
  });
  expect(ticks.status).toBe(202);
}, 60_000);

afterAll(async () => {
  if (gw && gw.proc.exitCode === null) {
    const { code } = await gw.interrupt();
    expect(code).toBe(0);
  }
});

describe("strategy webhooks, embedded", () => {
  test("a TradingView alert becomes a paper BUY of the strategy that fills; the same alert again places nothing", async () => {
    const first = await alert({ symbol: "SBIN", action: "BUY", quantity: "3", price: "812.35", id: "tv-1" });
    expect(first.status).toBe(202);
    const id = first.json.orders[0].order_id as string;
    const filled = await settled(id, "FILLED");
    expect(filled).toMatchObject({ broker: "paper", strategy_id: STRATEGY, instrument_token: SBIN, side: "BUY", quantity: 3, filled_quantity: 3, order_type: "MARKET" });
    expect(filled.client_order_id).toStartWith(`wh.${webhookId.replaceAll("-", "").slice(0, 12)}.`);

    const replay = await alert({ symbol: "SBIN", action: "BUY", quantity: "3", price: "812.35", id: "tv-1" });
    expect(replay.status).toBe(200);
    expect(replay.json.orders[0]).toMatchObject({ order_id: id, replayed: true });
    expect((await strategyOrders()).filter((o) => o.instrument_token === SBIN)).toHaveLength(1);
    await positionIs(SBIN, 3);
  }, 40_000);

  test("position_size takes the strategy's position to the target (3 → -2: SELL 5), then places nothing", async () => {
    const moved = await alert({ symbol: "NSE:SBIN", action: "SELL", position_size: -2, id: "tv-2" });
    expect(moved.status).toBe(202);
    expect(moved.json.position).toEqual({ current: 3, target: -2, side: "SELL", quantity: 5 });
    await settled(moved.json.orders[0].order_id, "FILLED");
    await positionIs(SBIN, -2);

    const there = await alert({ symbol: "SBIN", action: "SELL", position_size: "-2", id: "tv-3" });
    expect(there.status).toBe(200);
    expect(there.json.orders).toEqual([]);
    expect(there.json.message).toContain("already at target");
    expect((await strategyOrders()).filter((o) => o.instrument_token === SBIN)).toHaveLength(2);
  }, 40_000);

  test("a ChartInk alert becomes one paper order per stock, the rule's quantity, and they fill", async () => {
    const scan = {
      stocks: "RELIANCE,TCS",
      trigger_prices: "1290.0,4120.05",
      triggered_at: "2:34 pm",
      scan_name: "Short term breakouts BUY",
      scan_url: "short-term-breakouts",
      alert_name: "Alert for Short term breakouts",
      webhook_url: `${url}/webhooks/${token}`,
    };
    const r = await alert(scan);
    expect(r.status).toBe(202);
    expect(r.json.orders).toHaveLength(2);
    const orders = await Promise.all(r.json.orders.map((o: { order_id: string }) => settled(o.order_id, "FILLED")));
    expect(orders.map((o) => [o.instrument_token, o.side, o.quantity, o.strategy_id, o.broker])).toEqual([
      [RELIANCE, "BUY", 2, STRATEGY, "paper"],
      [TCS, "BUY", 2, STRATEGY, "paper"],
    ]);
    // ChartInk delivering the same alert again: the same two orders, nothing new.
    const again = await alert(scan);
    expect(again.status).toBe(200);
    expect((await strategyOrders()).filter((o) => o.instrument_token === RELIANCE || o.instrument_token === TCS)).toHaveLength(2);
  }, 40_000);

  test("bad payloads are 4xx naming the field", async () => {
    const quantity = await alert({ symbol: "SBIN", action: "BUY", quantity: "lots" });
    expect(quantity.status).toBe(422);
    expect(quantity.json.error.details[0].path).toBe("quantity");
    const symbol = await alert({ symbol: "NOSUCH", action: "BUY", quantity: 1 });
    expect(symbol.status).toBe(422);
    expect(symbol.json.error.message).toContain("symbol");
  });

  test("a wrong token and a revoked one are 404 as an unknown path is; the revoked token's alerts place nothing", async () => {
    const wrong = await alert({ symbol: "SBIN", action: "BUY", quantity: 1 }, `wh_${"x".repeat(43)}`);
    expect(wrong.status).toBe(404);
    expect(wrong.json.error).toEqual({ code: "NOT_FOUND", message: `no route for POST /webhooks/wh_${"x".repeat(43)}`, details: null });
    const before = (await strategyOrders()).length;
    expect((await api.del(`/api/v1/strategies/${STRATEGY}/webhooks/${webhookId}`)).status).toBe(200);
    const revoked = await alert({ symbol: "SBIN", action: "BUY", quantity: 1, id: "after-revoke" });
    expect(revoked.status).toBe(404);
    expect(revoked.json.error.code).toBe("NOT_FOUND");
    expect((await strategyOrders()).length).toBe(before);
  });
});
