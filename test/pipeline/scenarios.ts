/**
 * The pipeline's acceptance scenarios, run against a real gateway process: embedded, and on
 * Kafka + Redis + PostgreSQL. Prices are set by posting ticks (FEED=none), so every number is
 * known: tick → signal → risk → execution → portfolio → REST and WebSocket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { apiClient, until, wsClient, type WsClient } from "../support/api-client.ts";
import { startFakeKite, type FakeKite } from "../kite/server/kite-server.ts";

export const KEY = "ap_pipeline_test_key_0123456789";
const RELIANCE = 738561;
const TCS = 2953217;

export interface ScenarioHooks {
  /** Extra environment: the real services, a fresh database. */
  env: () => Promise<Record<string, string>>;
  /** Reads a position straight from the cache, where the mode allows it (Redis). */
  cachedPosition?: (broker: string, key: string) => Promise<Record<string, number> | undefined>;
  /** Rows of the fill ledger per broker, where the mode allows reading it from outside. */
  ledgerBrokers?: () => Promise<string[]>;
  /** Clean up after the gateway stopped. */
  cleanup?: () => Promise<void>;
}

export function pipelineScenarios(name: string, hooks: ScenarioHooks): void {
  describe(`pipeline: ${name}`, () => {
    let gw: GatewayProcess;
    let api: ReturnType<typeof apiClient>;
    let ws: WsClient;
    let kite: FakeKite;
    let url: string;

    const order = async (body: Record<string, unknown>) => {
      const r = await api.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, ...body });
      expect([r.status, r.body]).toMatchObject([202, { order: { status: "PENDING" } }]);
      return r.body.order as Record<string, any>;
    };
    const settled = (id: string, status: string | string[], ms = 10_000) =>
      until(`order ${id} to be ${status}`, async () => {
        const r = await api.get(`/api/v1/orders/${id}`);
        return ([] as string[]).concat(status).includes(r.body.order?.status) ? (r.body.order as Record<string, any>) : undefined;
      }, ms);
    const tick = async (token: number, price: string) => {
      const r = await api.post("/api/v1/ticks", { ticks: [{ instrument_token: token, last_price: price, exchange_ts: new Date().toISOString() }] });
      expect(r.status).toBe(202);
    };

    beforeAll(async () => {
      // zerodha trades through a Kite-compatible server (test/kite/server), as it would through Kite.
      kite = await startFakeKite({ apiKey: "kite_key", apiSecret: "kite_secret", accessToken: "kite_token" });
      kite.setLastPrice("TCS", 412_005);
      gw = spawnGateway({
        PORT: "0",
        FEED: "none",
        ACTIVE_BROKERS: "paper,zerodha",
        // zerodha makes MARKET_HOURS default to nse; API orders are judged at the wall clock's
        // time, so hours are off for a run at any hour (test/gateway/market-hours.e2e.test.ts has them on).
        MARKET_HOURS: "off",
        BOOTSTRAP_API_KEY: KEY,
        KITE_API_KEY: "kite_key",
        KITE_API_SECRET: "kite_secret",
        KITE_ACCESS_TOKEN: "kite_token",
        KITE_BASE_URL: kite.url,
        ...(await hooks.env()),
      });
      url = await gw.url(30_000);
      api = apiClient(url, KEY);
      await until("the gateway to be ready", async () => (await fetch(`${url}/ready`)).status === 200, 30_000);
      // The seeded strategies trade RELIANCE too; switch them off so only our orders move it.
      for (const id of ["momentum_fast", "mean_reversion_bank"]) expect((await api.patch(`/api/v1/strategies/${id}`, { enabled: false })).status).toBe(200);
      ws = await wsClient(url, KEY);
      ws.send({ action: "subscribe", channels: ["orders.paper", "orders.zerodha", "portfolio.paper", `ticks.${RELIANCE}`] });
      await ws.waitFor("the subscription", (m) => m.type === "subscribed");
      await tick(RELIANCE, "1290.00");
      await tick(TCS, "4120.05");
      await ws.waitFor("the RELIANCE tick", (m) => m.channel === `ticks.${RELIANCE}`);
    }, 60_000);

    afterAll(async () => {
      ws?.close();
      // Controls live in the log: on a shared Kafka the next run (with a fresh database) would
      // find the seeded strategies off. Put back what the scenarios changed.
      if (api && gw?.proc.exitCode === null) {
        for (const id of ["momentum_fast", "mean_reversion_bank"]) await api.patch(`/api/v1/strategies/${id}`, { enabled: true });
        for (const b of ["paper", "zerodha"]) await api.post(`/api/v1/risk/${b}/state`, { state: "ACTIVE" });
      }
      if (gw && gw.proc.exitCode === null) {
        const { code } = await gw.interrupt();
        expect(code).toBe(0);
      }
      await kite?.stop();
      await hooks.cleanup?.();
    });

    test("a MARKET order goes signal → risk → execution → portfolio, with one correlation id, to REST and WebSocket", async () => {
      const placed = await order({ side: "BUY", quantity: 3, order_type: "MARKET", client_order_id: "e2e-market-1" });
      const filled = await settled(placed.order_id, "FILLED");
      // 2 bps of slippage on ₹1290.00 is 25.8 paise: one tick of 5 paise up, rounded against us → 1290.30.
      expect(filled.average_price).toBe("1290.30");
      expect(filled.filled_quantity).toBe(3);
      expect(filled.events.map((e: { type: string }) => e.type)).toEqual(["signal.generated", "signal.validated", "order.submitted", "order.filled"]);

      const pushed = await ws.waitFor("the fill over WebSocket", (m) => m.channel === "orders.paper" && m.type === "order.filled" && m.data.order_id === placed.order_id);
      const submitted = ws.messages.find((m) => m.type === "order.submitted" && m.data.order_id === placed.order_id);
      expect(pushed.correlation_id).toBe(placed.correlation_id);
      expect(submitted?.correlation_id).toBe(placed.correlation_id);
      expect(pushed.data.fill_price).toBe("1290.30");

      const portfolio = await until("the position", async () => {
        const r = await api.get("/api/v1/portfolios/paper");
        return r.body.portfolio.positions.find((p: any) => p.strategy_id === "manual" && p.instrument_token === RELIANCE && p.quantity === 3) ? r.body.portfolio : undefined;
      });
      const position = portfolio.positions.find((p: any) => p.strategy_id === "manual" && p.instrument_token === RELIANCE);
      expect(position.average_price).toBe("1290.30");
      const trades = (await api.get("/api/v1/trades?broker=paper")).body.trades.filter((t: any) => t.order_id === placed.order_id);
      expect(trades).toHaveLength(1);
      expect(trades[0].price).toBe("1290.30");
      expect(position.fees).toBe(trades[0].fees);
      // Cash to the paisa: ₹10,00,000 − 3 × ₹1290.30 − fees.
      const feesPaise = Math.round(Number(trades[0].fees) * 100);
      expect(Math.round(Number(portfolio.cash) * 100)).toBe(100_000_000 - 3 * 129_030 - feesPaise);
      if (hooks.cachedPosition) {
        const cached = await hooks.cachedPosition("paper", `manual:${RELIANCE}`);
        expect(cached?.quantity).toBe(3);
        expect(cached?.average_price).toBe(129_030);
        expect(cached?.fees).toBe(feesPaise);
      }
      // The same client_order_id again is the same order, never a second one.
      const again = await api.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 3, order_type: "MARKET", client_order_id: "e2e-market-1" });
      expect(again.status).toBe(200);
      expect(again.body.order.order_id).toBe(placed.order_id);
    });

    test("a LIMIT order rests until a tick crosses it, then fills at its price", async () => {
      const placed = await order({ side: "BUY", quantity: 1, order_type: "LIMIT", price: "1280.00" });
      await settled(placed.order_id, "OPEN");
      await tick(RELIANCE, "1285.00");
      await Bun.sleep(300);
      expect((await api.get(`/api/v1/orders/${placed.order_id}`)).body.order.status).toBe("OPEN");
      await tick(RELIANCE, "1279.95");
      const filled = await settled(placed.order_id, "FILLED");
      expect(filled.average_price).toBe("1280.00");
    });

    test("SL-M and SL orders wait for their trigger", async () => {
      const slm = await order({ side: "SELL", quantity: 1, order_type: "SL-M", trigger_price: "1270.00" });
      const sl = await order({ side: "BUY", quantity: 1, order_type: "SL", trigger_price: "1300.00", price: "1301.00" });
      await settled(slm.order_id, "OPEN");
      await settled(sl.order_id, "OPEN");
      await tick(RELIANCE, "1269.95");
      const slmFilled = await settled(slm.order_id, "FILLED");
      expect(Number(slmFilled.average_price)).toBeLessThanOrEqual(1269.95);
      expect((await api.get(`/api/v1/orders/${sl.order_id}`)).body.order.status).toBe("OPEN");
      await tick(RELIANCE, "1300.00");
      const slFilled = await settled(sl.order_id, "FILLED");
      expect(Number(slFilled.average_price)).toBeLessThanOrEqual(1301);
    });

    test("an open order can be cancelled; a finished one cannot", async () => {
      // ₹1250 is inside the 5% price band around the last tick (₹1300) and below it: it rests.
      const placed = await order({ side: "BUY", quantity: 1, order_type: "LIMIT", price: "1250.00" });
      await settled(placed.order_id, "OPEN");
      const cancel = await api.del(`/api/v1/orders/${placed.order_id}`);
      expect(cancel.status).toBe(202);
      await settled(placed.order_id, "CANCELLED");
      await ws.waitFor("the cancel over WebSocket", (m) => m.type === "order.cancelled" && m.data.order_id === placed.order_id);
      const again = await api.del(`/api/v1/orders/${placed.order_id}`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe("CONFLICT");
      expect((await api.del("/api/v1/orders/00000000-0000-7000-8000-000000000000")).status).toBe(404);
    });

    test("risk rejects with a reason code: quantity, notional, price band", async () => {
      const limits = await api.put("/api/v1/risk/paper/limits", { max_order_quantity: 50, max_order_notional: "100000.00" });
      // The very next order is judged under the new limits: no wait.
      expect(limits.status).toBe(200);
      const tooMany = await order({ side: "BUY", quantity: 60, order_type: "MARKET" });
      expect((await settled(tooMany.order_id, "REJECTED")).reason_code).toBe("MAX_QUANTITY");
      const tooBig = await order({ instrument_token: TCS, side: "BUY", quantity: 40, order_type: "MARKET" });
      expect((await settled(tooBig.order_id, "REJECTED")).reason_code).toBe("MAX_NOTIONAL");
      const fatFinger = await order({ side: "BUY", quantity: 1, order_type: "LIMIT", price: "1500.00" });
      const rejected = await settled(fatFinger.order_id, "REJECTED");
      expect(rejected.reason_code).toBe("PRICE_BAND");
      const detail = (await api.get(`/api/v1/orders/${fatFinger.order_id}`)).body.order;
      const checks = detail.events.find((e: any) => e.type === "signal.rejected").data.checks;
      expect(checks.find((c: any) => c.rule === "PRICE_BAND").passed).toBe(false);
      expect(checks.length).toBeGreaterThan(5);
      await api.put("/api/v1/risk/paper/limits", { max_order_quantity: 1000, max_order_notional: "1000000.00" });
    });

    test("the kill switch: HALTED rejects everything, REDUCING lets only reducing orders through", async () => {
      // Each control takes effect for the very next order: no wait between the 200 and the order.
      expect((await api.post("/api/v1/risk/paper/state", { state: "HALTED", reason: "e2e" })).body.risk.state).toBe("HALTED");
      const halted = await order({ side: "BUY", quantity: 1, order_type: "MARKET" });
      expect((await settled(halted.order_id, "REJECTED")).reason_code).toBe("TRADING_HALTED");
      await api.post("/api/v1/risk/paper/state", { state: "REDUCING" });
      const increasing = await order({ side: "BUY", quantity: 1, order_type: "MARKET" });
      expect((await settled(increasing.order_id, "REJECTED")).reason_code).toBe("REDUCE_ONLY");
      const reducing = await order({ side: "SELL", quantity: 1, order_type: "MARKET" });
      await settled(reducing.order_id, "FILLED");
      await api.post("/api/v1/risk/paper/state", { state: "ACTIVE" });
      const back = await order({ side: "BUY", quantity: 1, order_type: "MARKET" });
      await settled(back.order_id, "FILLED");
    });

    test("paper and zerodha at once: nothing mixes", async () => {
      const z = await api.post("/api/v1/orders", { broker: "zerodha", instrument_token: TCS, side: "BUY", quantity: 1, order_type: "MARKET" });
      expect(z.status).toBe(202);
      const zid = z.body.order.order_id as string;
      const open = await settled(zid, "OPEN");
      const venueId = open.events.find((e: any) => e.type === "order.submitted").data.venue_order_id;
      expect((await kite.sendPostback(`${url}/api/v1/kite/postback`, venueId)).status).toBe(200);
      const filled = await settled(zid, "FILLED");
      expect(filled.average_price).toBe("4120.05");
      const pushed = await ws.waitFor("the zerodha fill over WebSocket", (m) => m.type === "order.filled" && m.data.order_id === zid);
      expect(pushed.channel).toBe("orders.zerodha");
      expect(ws.messages.some((m) => m.channel === "orders.paper" && m.data?.order_id === zid)).toBe(false);
      expect(ws.messages.some((m) => m.channel === "orders.zerodha" && m.data?.order_id && m.data.order_id !== zid && m.type !== "order.cancel_rejected" && m.data.broker === "paper")).toBe(false);

      const zp = await until("the zerodha position", async () => (await api.get("/api/v1/portfolios/zerodha")).body.portfolio.positions.find((p: any) => p.instrument_token === TCS));
      expect(zp.quantity).toBe(1);
      const paper = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
      expect(paper.positions.some((p: any) => p.instrument_token === TCS)).toBe(false);
      expect((await api.get("/api/v1/trades?broker=zerodha")).body.trades.map((t: any) => t.order_id)).toEqual([zid]);
      expect((await api.get("/api/v1/trades?broker=paper")).body.trades.some((t: any) => t.order_id === zid)).toBe(false);
      expect((await api.get("/api/v1/orders?broker=zerodha")).body.orders.every((o: any) => o.broker === "zerodha")).toBe(true);
      expect((await api.get("/api/v1/orders?broker=paper")).body.orders.every((o: any) => o.broker === "paper")).toBe(true);
      if (hooks.cachedPosition) {
        expect((await hooks.cachedPosition("zerodha", `manual:${TCS}`))?.quantity).toBe(1);
        expect(await hooks.cachedPosition("paper", `manual:${TCS}`)).toBeUndefined();
      }
      if (hooks.ledgerBrokers) expect(await hooks.ledgerBrokers()).toEqual(["paper", "zerodha"]);
    });

    test("a strategy added through the API trades at once, and stops when disabled, without a restart", async () => {
      const ITC = 424961;
      const id = `e2e_momo_${Date.now().toString(36)}`;
      const created = await api.post("/api/v1/strategies", { id, kind: "momentum", params: { lookback: 2, threshold_bps: 10, quantity: 1 }, instruments: [ITC], brokers: ["paper"], enabled: true });
      expect(created.status).toBe(201);
      for (const price of ["476.15", "476.20", "481.00"]) await tick(ITC, price);
      const [first] = await until("the new strategy's order to fill", async () => {
        const orders = (await api.get(`/api/v1/orders?strategy_id=${id}&status=FILLED`)).body.orders;
        return orders.length > 0 ? orders : undefined;
      });
      expect(first.side).toBe("BUY");
      expect(first.instrument_token).toBe(ITC);

      expect((await api.patch(`/api/v1/strategies/${id}`, { enabled: false })).body.strategy.enabled).toBe(false);
      for (const price of ["470.00", "460.00", "450.00"]) await tick(ITC, price);
      await Bun.sleep(1_000);
      // A signal the strategy stage made before it applied the change is refused by risk, never filled.
      const after = (await api.get(`/api/v1/orders?strategy_id=${id}`)).body.orders.filter((o: any) => o.order_id !== first.order_id);
      for (const o of after) expect([o.status, o.reason_code]).toEqual(["REJECTED", expect.stringMatching(/^STRATEGY_(DISABLED|CHANGED)$/)]);
    });

    test("bad requests get a 4xx in the one error shape", async () => {
      const raw = await fetch(`${url}/api/v1/orders`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: "{oops" });
      expect(raw.status).toBe(400);
      expect(((await raw.json()) as any).error.code).toBe("BAD_JSON");
      const missing = await api.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, side: "BUY", order_type: "MARKET" });
      expect(missing.status).toBe(422);
      expect(missing.body.error.message).toContain("quantity");
      expect((await api.post("/api/v1/orders", { broker: "paper", instrument_token: 1, side: "BUY", quantity: 1, order_type: "MARKET" })).status).toBe(404);
      expect((await api.get("/api/v1/portfolios/nse")).status).toBe(404);
      const anon = await fetch(`${url}/api/v1/orders`);
      expect(anon.status).toBe(401);
      expect(((await anon.json()) as any).error.code).toBe("UNAUTHORIZED");
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
    });
  });
}
