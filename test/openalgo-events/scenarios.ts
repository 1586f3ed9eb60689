/**
 * The OpenAlgo bridge end to end, the same scenarios on the in-process log and on Kafka: a gateway
 * runs with OPENALGO_EVENTS_TOPIC and OPENALGO_SOURCE_TOPIC set; orders placed through our API
 * appear on the events topic in OpenAlgo's shape (read with a consumer of the test's own); the
 * messages an OpenAlgo instance publishes (the seed's field list), written by the test, appear in
 * GET /sources/openalgo/orders and on `orders.openalgo`; a malformed one lands in the source's DLQ
 * with the reason; our own orders list is unchanged by them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import { utf8, type Log, type LogMessage } from "../../src/log/port.ts";
import { topicName } from "../../src/topics.ts";
import { startGateway, type Gateway } from "../../gateway/runtime.ts";
import { apiClient, until, wsClient } from "../support/api-client.ts";

const KEY = "ap_openalgo_events_key_0123456789";
const SBIN = 779521;

export interface BridgeSetup {
  /** The services' settings (none: embedded). */
  env(): Promise<Record<string, string>>;
  /** A log of the test's own to read and write the bridge's topics (none: the gateway's in-process log). */
  log?(): Log;
  /**
   * Whether the test may write an envelope straight onto the pipeline's order topics (the
   * in-process log is this test's alone; the shared Kafka's paper topics are not).
   */
  ownsPipelineTopics?: boolean;
}

export function openAlgoScenarios(name: string, setup: BridgeSetup): void {
  describe(`OpenAlgo order events: ${name}`, () => {
    const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const eventsTopic = `to_openalgo_${run}`;
    const sourceTopic = `from_openalgo_${run}`;
    let gw: Gateway;
    let log: Log;
    let api: ReturnType<typeof apiClient>;

    beforeAll(async () => {
      const env = { ...(await setup.env()), PORT: "0", FEED: "none", DATA_DIR: "memory", BOOTSTRAP_API_KEY: KEY, MARKET_HOURS: "off", LOG_LEVEL: "warn", OPENALGO_EVENTS_TOPIC: eventsTopic, OPENALGO_SOURCE_TOPIC: sourceTopic, OPENALGO_USER_ID: "user123" };
      gw = await startGateway(loadConfig(env), createLogger({ level: "warn", name: "gateway" }), env);
      log = setup.log?.() ?? gw.log;
      api = apiClient(gw.url, KEY);
      await until("ready", async () => (await api.get("/ready")).status === 200, 60_000);
    }, 90_000);
    afterAll(async () => {
      if (log && log !== gw?.log) await log.close();
      await gw?.stop();
    }, 30_000);

    /** Everything on a topic from its start, until `done` says enough. */
    async function readTopic(topic: string, done: (got: LogMessage[]) => boolean, ms = 30_000): Promise<LogMessage[]> {
      const got: LogMessage[] = [];
      const c = log.consumer({ groupId: `test.${topic}.${Math.random().toString(36).slice(2)}`, topics: [topic], startFrom: "earliest" });
      await c.run(async (batch) => void got.push(...batch));
      try {
        await until(`messages on ${topic}`, async () => (done(got) ? true : undefined), ms);
      } finally {
        await c.close();
      }
      return got;
    }

    test("orders placed through our API appear on the OpenAlgo topic in its shape, keyed by user_id", async () => {
      const price = "800.00";
      expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: SBIN, last_price: price, exchange_ts: new Date().toISOString() }] })).status).toBe(202);
      const placed = await api.post("/api/v1/orders", { broker: "paper", instrument_token: SBIN, side: "BUY", quantity: 3, order_type: "MARKET", product: "CNC" });
      expect(placed.status).toBe(202);
      const orderId = placed.body.order.order_id as string;
      const ofOrder = (got: LogMessage[]) => got.map((m) => ({ key: m.key, msg: JSON.parse(utf8.decode(m.value)) })).filter(({ msg }) => msg.data?.orderid === orderId || msg.data?.response?.orderid === orderId || msg.event_type === "master_contract_download");
      const messages = ofOrder(await readTopic(eventsTopic, (got) => ofOrder(got).some(({ msg }) => msg.event_type === "order_notification")));
      expect(new Set(messages.map(({ key }) => key))).toEqual(new Set(["user123"]));
      const kinds = messages.map(({ msg }) => msg.event_type);
      expect(kinds).toContain("master_contract_download");
      expect(kinds.filter((k) => k === "order_event").length).toBe(2);
      expect(kinds).toContain("analyzer_update");
      const events = messages.filter(({ msg }) => msg.event_type === "order_event").map(({ msg }) => msg);
      for (const e of events) {
        expect(e).toMatchObject({ user_id: "user123", source: "alpha-panda", data: { symbol: "SBIN", exchange: "NSE", action: "BUY", orderid: orderId, mode: "analyze", broker: "paper", quantity: "3", pricetype: "MARKET", product: "CNC" } });
        expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      }
      // Read in one batch they come in lifecycle order; across batches the topics are read side by side.
      expect(events.map((e) => e.data.order_status).sort()).toEqual(["complete", "open"]);
      // The fill as our own API shows it (the paper exchange fills a MARKET order with slippage).
      const ours = await until("our order filled", async () => {
        const order = (await api.get(`/api/v1/orders/${orderId}`)).body.order;
        return order?.status === "FILLED" ? order : undefined;
      }, 15_000);
      expect(events.find((e) => e.data.order_status === "complete").data).toMatchObject({ fill_quantity: "3", fill_price: ours.average_price, filled_quantity: "3", pending_quantity: "0", status: "FILLED" });
      const master = messages.find(({ msg }) => msg.event_type === "master_contract_download")!.msg;
      expect(master.data).toMatchObject({ broker: "paper", status: "success" });
      expect(master.data.symbols_count).toBeGreaterThan(0);
    }, 60_000);

    test("an OpenAlgo instance's events appear in our orders view and on orders.openalgo; a malformed one goes to the DLQ with the reason", async () => {
      const ws = await wsClient(gw.url, KEY);
      try {
        ws.send({ action: "subscribe", channels: ["orders.openalgo"] });
        await ws.waitFor("subscribed", (m) => m.type === "subscribed");
        const at = (s: number) => `2026-01-29T10:30:${String(s).padStart(2, "0")}.123456Z`;
        const messages = [
          { event_type: "order_event", timestamp: at(45), user_id: "user123", source: "openalgo", data: { symbol: "SBIN-EQ", action: "BUY", orderid: `ORD${run}`, mode: "live", broker: "angel", quantity: "1", price: "850.50" } },
          { event_type: "analyzer_update", timestamp: at(46), user_id: "user123", source: "openalgo", data: { request: { symbol: "RELIANCE-EQ", action: "BUY", quantity: "1", api_type: "placesmartorder" }, response: { mode: "analyze", status: "success", orderid: `SANDBOX_${run}` } } },
          { event_type: "password_change", timestamp: at(47), user_id: "user123", source: "openalgo", data: { user: "user123", status: "success", message: "Password changed successfully", ip_address: "10.0.0.1", user_agent: "x" } },
          { event_type: "order_event", timestamp: at(48), user_id: "user123", source: "openalgo", data: { symbol: "SBIN-EQ", action: "HOLD", orderid: "BAD1" } },
          { event_type: "order_event", timestamp: at(49), user_id: "user123", source: "openalgo", data: { symbol: "SBIN-EQ", action: "BUY", orderid: `ORD${run}`, mode: "live", broker: "angel", quantity: "1", order_status: "complete", average_price: "850.25" } },
        ];
        const producer = log.producer();
        try {
          for (const m of messages) await producer.send([{ topic: sourceTopic, key: "user123", value: JSON.stringify(m) }]);
        } finally {
          await producer.close();
        }
        const orders = await until(
          "the OpenAlgo orders",
          async () => {
            const r = await api.get("/api/v1/sources/openalgo/orders");
            const found = r.body.orders as Array<Record<string, unknown>> | undefined;
            return found?.some((o) => o.order_id === `ORD${run}` && o.status === "FILLED") && found.some((o) => o.order_id === `SANDBOX_${run}`) ? found : undefined;
          },
          30_000,
        );
        expect(orders.find((o) => o.order_id === `ORD${run}`)).toMatchObject({ source: "openalgo", read_only: true, symbol: "SBIN-EQ", side: "BUY", quantity: 1, price: "850.50", average_price: "850.25", status: "FILLED", openalgo_status: "complete", mode: "live", broker: "angel", user_id: "user123" });
        expect(orders.find((o) => o.order_id === `SANDBOX_${run}`)).toMatchObject({ symbol: "RELIANCE-EQ", mode: "analyze", status: "OPEN" });
        expect(orders.some((o) => o.order_id === "BAD1")).toBe(false);
        // Filtered by status; our own orders list never shows them.
        const filled = (await api.get("/api/v1/sources/openalgo/orders?status=FILLED")).body.orders as Array<Record<string, unknown>>;
        expect(filled.map((o) => o.order_id)).toContain(`ORD${run}`);
        expect(filled.every((o) => o.status === "FILLED")).toBe(true);
        const ours = (await api.get("/api/v1/orders?limit=500")).body.orders as Array<Record<string, unknown>>;
        expect(ours.some((o) => String(o.order_id).includes(run))).toBe(false);

        const pushed = await ws.waitFor("the fill pushed on orders.openalgo", (m) => m.channel === "orders.openalgo" && m.data?.order_id === `ORD${run}` && m.data?.status === "FILLED", 15_000);
        expect(pushed).toMatchObject({ type: "openalgo.order", data: { source: "openalgo", read_only: true, price: "850.50", average_price: "850.25" } });

        const dead = await readTopic(`${sourceTopic}.dlq`, (got) => got.length > 0);
        expect(dead).toHaveLength(1);
        expect(JSON.parse(utf8.decode(dead[0]!.value)).data.orderid).toBe("BAD1");
        expect(dead[0]!.headers["x-dlq-error"]).toBe('data.action must be BUY or SELL, got "HOLD"');
        expect(dead[0]!.headers["x-dlq-source-topic"]).toBe(sourceTopic);
      } finally {
        ws.close();
      }
    }, 60_000);

    // Only where the order topics are this test's own: on the shared Kafka a stray order event would reach other runs' gateways.
    if (setup.ownsPipelineTopics) test("an order event that cannot be shown in OpenAlgo's terms goes to the OpenAlgo topic's DLQ with the reason", async () => {
      const stray = createEvent({ type: "order.submitted", source: "test", broker: "paper", key: "999999999", data: { order_id: `stray-${run}`, signal_id: `stray-${run}`, strategy_id: "manual", instrument_token: 999_999_999, side: "BUY", quantity: 1, order_type: "MARKET" } });
      const producer = log.producer();
      try {
        await producer.send([{ topic: topicName("ordersSubmitted", "paper"), key: stray.key, value: encodeEnvelope(stray) }]);
      } finally {
        await producer.close();
      }
      const dead = await readTopic(`${eventsTopic}.dlq`, (got) => got.length > 0);
      expect(JSON.parse(utf8.decode(dead[0]!.value)).id).toBe(stray.id);
      expect(dead[0]!.headers["x-dlq-error"]).toContain("instrument 999999999 is not in the instrument master");
      expect(dead[0]!.headers["x-dlq-stage"]).toBe("openalgo-events");
    }, 30_000);

    test("orders.openalgo is a channel here; GET /sources/openalgo/orders is in /openapi.json", async () => {
      const doc = (await api.get("/openapi.json")).body;
      expect(Object.keys(doc.paths)).toContain("/api/v1/sources/openalgo/orders");
    });
  });
}
