/**
 * Issue 4's acceptance, through a real gateway process pointed at Kite-compatible servers (the
 * REST fake and the ticker fake in test/kite): FEED=kite and ACTIVE_BROKERS=zerodha.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KiteTick } from "../../src/kite/ticker/index.ts";
import { apiClient, until, wsClient, type WsClient } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { startFakeKite, type FakeKite } from "./server/kite-server.ts";
import { encodeFrame } from "./ticker/encode.ts";
import { FakeKiteServer } from "./ticker/server.ts";
import { storeAccessToken } from "../../src/kite/rest/session.ts";
import { openStore } from "../../src/store/index.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const KEY = "ap_kite_e2e_key_0123456789";
const KITE = { apiKey: "kite_e2e_key", apiSecret: "kite_e2e_secret", accessToken: "kite_e2e_token" };
const INFY = 408065;

const tick = (mode: KiteTick["mode"], last_price: number): KiteTick => {
  const base: KiteTick = { instrument_token: INFY, segment: "NSE", mode, tradable: true, price_divisor: 100, last_price };
  if (mode === "ltp") return base;
  const quote = { ...base, last_quantity: 5, average_price: last_price - 15, volume: 120_000, buy_quantity: 900, sell_quantity: 1_100, ohlc: { open: 187_500, high: 189_000, low: 187_000, close: 187_800 } };
  if (mode === "quote") return quote;
  const level = (p: number, q: number) => ({ quantity: q, price: p, orders: 3 });
  return {
    ...quote,
    last_trade_time: "2026-11-23T04:00:00.000Z",
    exchange_timestamp: "2026-11-23T04:00:01.000Z",
    oi: 0,
    oi_day_high: 0,
    oi_day_low: 0,
    depth: {
      buy: [level(last_price - 5, 10), level(last_price - 10, 20), level(last_price - 15, 30), level(last_price - 20, 40), level(last_price - 25, 50)],
      sell: [level(last_price + 5, 11), level(last_price + 10, 21), level(last_price + 15, 31), level(last_price + 20, 41), level(last_price + 25, 51)],
    },
  };
};

describe("zerodha through Kite Connect (fake Kite servers)", () => {
  let rest: FakeKite;
  let ticker: FakeKiteServer;
  let gw: GatewayProcess;
  let url: string;
  let api: ReturnType<typeof apiClient>;
  let ws: WsClient;

  beforeAll(async () => {
    rest = await startFakeKite(KITE);
    rest.setLastPrice("INFY", 188_520);
    ticker = new FakeKiteServer({ apiKey: KITE.apiKey, accessToken: KITE.accessToken });
    gw = spawnGateway({
      PORT: "0",
      ACTIVE_BROKERS: "zerodha",
      FEED: "kite",
      // API orders are judged at the wall clock's time: hours off, so this runs at any hour
      // (MARKET_HOURS=nse has its own tests: test/gateway/market-hours.e2e.test.ts).
      MARKET_HOURS: "off",
      KITE_API_KEY: KITE.apiKey,
      KITE_API_SECRET: KITE.apiSecret,
      KITE_ACCESS_TOKEN: KITE.accessToken,
      KITE_BASE_URL: rest.url,
      KITE_TICKER_URL: ticker.url,
      BOOTSTRAP_API_KEY: KEY,
    });
    url = await gw.url(30_000);
    api = apiClient(url, KEY);
    ws = await wsClient(url, KEY);
    ws.send({ action: "subscribe", channels: [`ticks.${INFY}`, "orders.zerodha"] });
    await ws.waitFor("the subscription", (m) => m.type === "subscribed");
    await until("the gateway to subscribe INFY on the ticker", async () => ticker.subscriptions().get(INFY), 15_000);
  }, 60_000);

  afterAll(async () => {
    ws?.close();
    if (gw && gw.proc.exitCode === null) expect((await gw.interrupt()).code).toBe(0);
    await ticker?.stop();
    await rest?.stop();
  });

  test("ticks decoded from binary frames in every mode reach ticks.<token> with the right prices", async () => {
    for (const [mode, price, shown] of [["ltp", 188_520, "1885.20"], ["quote", 188_530, "1885.30"], ["full", 188_540, "1885.40"]] as const) {
      ticker.push(encodeFrame([tick(mode, price)]));
      const push = await ws.waitFor(`the ${mode} tick`, (m) => m.channel === `ticks.${INFY}` && m.data.last_price === shown);
      expect(push.type).toBe("market.tick");
      expect(push.data.feed).toBe("kite");
      if (mode === "full") {
        expect(push.data.bid).toBe("1885.35");
        expect(push.data.ask).toBe("1885.45");
        expect(push.data.exchange_ts).toBe("2026-11-23T04:00:01.000Z");
      }
    }
  });

  test("an order through our API reaches Kite as a correct form-encoded request; a valid postback fills it; a bad one is refused", async () => {
    const placed = await api.post("/api/v1/orders", { broker: "zerodha", exchange: "NSE", symbol: "INFY", side: "BUY", quantity: 2, order_type: "MARKET" });
    expect(placed.status).toBe(202);
    const orderId = placed.body.order.order_id as string;

    const sent = await until("the order at Kite", async () => rest.orderRequests().find((r) => r.method === "POST"), 10_000);
    expect(sent.path).toBe("/orders/regular");
    expect(sent.headers["x-kite-version"]).toBe("3");
    expect(sent.headers.authorization).toBe(`token ${KITE.apiKey}:${KITE.accessToken}`);
    expect(sent.headers["content-type"]).toContain("application/x-www-form-urlencoded");
    expect(sent.form).toMatchObject({ exchange: "NSE", tradingsymbol: "INFY", transaction_type: "BUY", order_type: "MARKET", quantity: "2", product: "MIS" });
    expect(sent.form.tag).toMatch(/^[0-9a-f]{20}$/);

    const open = await until("the order to be submitted", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "OPEN" ? o : undefined;
    });
    const venueId = open.events.find((e: any) => e.type === "order.submitted").data.venue_order_id as string;
    expect(rest.book.orders.has(venueId)).toBe(true);

    // A forged postback (wrong checksum) is refused and changes nothing.
    const forged = await rest.sendPostback(`${url}/api/v1/kite/postback`, venueId, { checksum: "0".repeat(64) });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as any).error.code).toBe("BAD_CHECKSUM");
    await Bun.sleep(300);
    expect((await api.get(`/api/v1/orders/${orderId}`)).body.order.status).toBe("OPEN");

    const ok = await rest.sendPostback(`${url}/api/v1/kite/postback`, venueId);
    expect(ok.status).toBe(200);
    const filled = await until("the fill", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "FILLED" ? o : undefined;
    });
    expect(filled.average_price).toBe("1885.20");
    await ws.waitFor("the fill over WebSocket", (m) => m.channel === "orders.zerodha" && m.type === "order.filled" && m.data.order_id === orderId);

    // The same postback again changes nothing: still one fill.
    expect((await rest.sendPostback(`${url}/api/v1/kite/postback`, venueId)).status).toBe(200);
    const position = await until("the zerodha position", async () => {
      const p = (await api.get("/api/v1/portfolios/zerodha")).body.portfolio;
      return p.positions.find((x: any) => x.instrument_token === INFY);
    });
    expect(position.quantity).toBe(2);
    expect(position.average_price).toBe("1885.20");
    await Bun.sleep(500);
    expect((await api.get("/api/v1/trades?broker=zerodha")).body.trades).toHaveLength(1);
  });

  test("an update missed while the ticker was down is found by reconciliation after the reconnect", async () => {
    const placed = await api.post("/api/v1/orders", { broker: "zerodha", exchange: "NSE", symbol: "INFY", side: "SELL", quantity: 1, order_type: "MARKET", product: "CNC" });
    const orderId = placed.body.order.order_id as string;
    const open = await until("the order to be submitted", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "OPEN" ? o : undefined;
    });
    // Kite completed it (the fake fills MARKET orders at once) but no postback ever comes.
    const venueId = open.events.find((e: any) => e.type === "order.submitted").data.venue_order_id as string;
    expect(rest.book.orders.get(venueId)).toBeDefined();
    // The request's product reaches Kite (MIS when the order names none).
    expect(rest.orderRequests().find((r) => r.method === "POST" && r.form.transaction_type === "SELL")?.form.product).toBe("CNC");
    await Bun.sleep(300);
    expect((await api.get(`/api/v1/orders/${orderId}`)).body.order.status).toBe("OPEN");
    ticker.drop();
    const filled = await until("the reconciled fill", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "FILLED" ? o : undefined;
    }, 20_000);
    expect(filled.filled_quantity).toBe(1);
  }, 30_000);

  test("a modify reaches Kite as PUT /orders/regular/:id with the new fields; the order shows them, and Kite's fill completes the modified quantity", async () => {
    const placed = await api.post("/api/v1/orders", { broker: "zerodha", exchange: "NSE", symbol: "INFY", side: "BUY", quantity: 3, order_type: "LIMIT", price: "1850.00" });
    const orderId = placed.body.order.order_id as string;
    const open = await until("the order to rest at Kite", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "OPEN" ? o : undefined;
    });
    const venueId = open.events.find((e: any) => e.type === "order.submitted").data.venue_order_id as string;

    expect((await api.patch(`/api/v1/orders/${orderId}`, { quantity: 2, price: "1860.00" })).status).toBe(202);
    const put = await until("the modify at Kite", async () => rest.orderRequests().find((r) => r.method === "PUT" && r.path === `/orders/regular/${venueId}`), 10_000);
    expect(put.form).toEqual({ quantity: "2", order_type: "LIMIT", price: "1860.00" });
    expect(rest.book.orders.get(venueId)).toMatchObject({ quantity: 2, price: 186_000 });
    const modified = await until("the order as modified", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.quantity === 2 ? o : undefined;
    });
    expect(modified).toMatchObject({ status: "OPEN", price: "1860.00" });
    await ws.waitFor("order.modified pushed", (m) => m.channel === "orders.zerodha" && m.type === "order.modified" && m.data.order_id === orderId);

    // Kite fills the 2: the order is whole (read against the modified quantity, not the 3 first sent).
    rest.book.fill(venueId, 2, 186_000);
    expect((await rest.sendPostback(`${url}/api/v1/kite/postback`, venueId)).status).toBe(200);
    const filled = await until("the fill", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "FILLED" ? o : undefined;
    });
    expect(filled).toMatchObject({ quantity: 2, filled_quantity: 2, average_price: "1860.00" });

    // Kite refuses a modify of a finished order; ours never sends one (409).
    expect((await api.patch(`/api/v1/orders/${orderId}`, { quantity: 5 })).status).toBe(409);
  }, 30_000);

  test("an order update on the ticker's WebSocket moves the order, like a postback", async () => {
    const placed = await api.post("/api/v1/orders", { broker: "zerodha", exchange: "NSE", symbol: "INFY", side: "BUY", quantity: 1, order_type: "LIMIT", price: "1850.00" });
    const orderId = placed.body.order.order_id as string;
    const open = await until("the order to rest at Kite", async () => {
      const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
      return o.status === "OPEN" ? o : undefined;
    });
    const venueId = open.events.find((e: any) => e.type === "order.submitted").data.venue_order_id as string;
    expect((await api.del(`/api/v1/orders/${orderId}`)).status).toBe(202);
    await until("the cancel at Kite", async () => rest.book.orders.get(venueId)?.status === "CANCELLED");
    ticker.pushText({ type: "order", data: JSON.parse(rest.postback(venueId)) });
    await until("the cancel to reach our order", async () => (await api.get(`/api/v1/orders/${orderId}`)).body.order.status === "CANCELLED");
  }, 30_000);
});

describe("an after-market order at Kite", () => {
  test("is placed as variety amo and cancelled under it", async () => {
    const rest = await startFakeKite(KITE);
    rest.setLastPrice("INFY", 188_520);
    // MARKET_HOURS off: Kite is the judge of when an AMO is taken; ours only picks the variety.
    const gw = spawnGateway({ PORT: "0", ACTIVE_BROKERS: "zerodha", FEED: "none", MARKET_HOURS: "off", KITE_API_KEY: KITE.apiKey, KITE_API_SECRET: KITE.apiSecret, KITE_ACCESS_TOKEN: KITE.accessToken, KITE_BASE_URL: rest.url, BOOTSTRAP_API_KEY: KEY });
    try {
      const base = await gw.url(30_000);
      const api = apiClient(base, KEY);
      await until("the gateway to be ready", async () => (await fetch(`${base}/ready`)).status === 200, 30_000);
      // Risk judges by a price it has seen: one tick through the API, and the order again until
      // the tick was there first (an order judged before it is rejected NO_MARKET_PRICE).
      expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: INFY, last_price: "1885.20" }] })).status).toBe(202);
      const orderId = await until("the AMO accepted by risk", async () => {
        const r = await api.post("/api/v1/orders", { broker: "zerodha", exchange: "NSE", symbol: "INFY", side: "BUY", quantity: 1, order_type: "LIMIT", price: "1850.00", amo: true });
        expect(r.status).toBe(202);
        const id = r.body.order.order_id as string;
        const status = await until("a status past PENDING", async () => {
          const o = (await api.get(`/api/v1/orders/${id}`)).body.order;
          return o.status === "PENDING" ? undefined : (o.status as string);
        }, 15_000);
        return status === "REJECTED" ? undefined : id;
      }, 30_000);
      const sent = await until("the AMO at Kite", async () => rest.orderRequests().find((r) => r.method === "POST"), 15_000);
      expect(sent.path).toBe("/orders/amo");
      expect(sent.form).toMatchObject({ tradingsymbol: "INFY", order_type: "LIMIT", price: "1850.00", product: "MIS" });
      const open = await until("the order to be OPEN", async () => {
        const o = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
        return o.status === "OPEN" ? o : undefined;
      }, 15_000);
      const submitted = open.events.find((e: any) => e.type === "order.submitted").data;
      expect(submitted.amo).toBe(true);
      expect(rest.book.orders.get(submitted.venue_order_id)?.status).toBe("AMO REQ RECEIVED");
      expect((await api.del(`/api/v1/orders/${orderId}`)).status).toBe(202);
      const cancel = await until("the cancel at Kite", async () => rest.orderRequests().find((r) => r.method === "DELETE"), 15_000);
      expect(cancel.path).toBe(`/orders/amo/${submitted.venue_order_id}`);
      await until("the AMO cancelled at Kite", async () => rest.book.orders.get(submitted.venue_order_id)?.status === "CANCELLED");
    } finally {
      await gw.interrupt();
      await rest.stop();
    }
  }, 90_000);
});

describe("the Kite access token stored by `bun run kite:session`", () => {
  test("lets zerodha start without KITE_ACCESS_TOKEN in the environment", async () => {
    if (!(await needs("postgres"))) return;
    const db = await freshDatabaseUrl();
    const rest = await startFakeKite(KITE);
    try {
      // What the CLI leaves behind after a login: the session in PostgreSQL.
      const store = await openStore({ databaseUrl: db.url });
      await storeAccessToken(store.sql, { api_key: KITE.apiKey, access_token: KITE.accessToken, user_id: "AB1234" });
      await store.close();
      const gw = spawnGateway({
        PORT: "0",
        ACTIVE_BROKERS: "zerodha",
        FEED: "none",
        MARKET_HOURS: "off",
        DATABASE_URL: db.url,
        KITE_API_KEY: KITE.apiKey,
        KITE_API_SECRET: KITE.apiSecret,
        KITE_BASE_URL: rest.url,
        BOOTSTRAP_API_KEY: KEY,
      });
      const base = await gw.url(30_000);
      await gw.waitFor((l) => l.msg === "using the stored Kite session", 5_000);
      // The stored token is what reaches Kite (the reconciliation at start reads the order book).
      await until("a request to Kite", async () => rest.requests.find((r) => r.path === "/orders"), 10_000);
      expect(rest.requests.find((r) => r.path === "/orders")!.headers.authorization).toBe(`token ${KITE.apiKey}:${KITE.accessToken}`);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await gw.interrupt()).code).toBe(0);
    } finally {
      await rest.stop();
      await db.drop();
    }
  }, 60_000);
});
