/**
 * Modify as a user meets it, on the embedded gateway with its ticks posted through the API (no
 * feed, so prices are ours): a LIMIT far from the market made marketable fills at its new price;
 * a smaller quantity shows on the order; a finished order is a 409; a modify risk refuses leaves
 * the order as it was, and its event says why. Every change is pushed on orders.paper.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiClient, until, wsClient, type WsClient } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_modify_e2e_key_0123456789abcd";
const RELIANCE = 738561;

type Api = ReturnType<typeof apiClient>;

async function orderWhen(api: Api, id: string, what: string, ready: (order: Record<string, any>) => boolean): Promise<Record<string, any>> {
  return until(`order ${id}: ${what}`, async () => {
    const order = (await api.get(`/api/v1/orders/${id}`)).body.order;
    return order && ready(order) ? order : undefined;
  }, 15_000, 20);
}

describe("PATCH /api/v1/orders/:id on the embedded gateway", () => {
  let gw: GatewayProcess;
  let api: Api;
  let ws: WsClient;

  beforeAll(async () => {
    gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
    const url = await gw.url(30_000);
    api = apiClient(url, KEY);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 30_000);
    ws = await wsClient(url, KEY);
    ws.send({ action: "subscribe", channels: ["orders.paper"] });
    await ws.waitFor("the subscription", (m) => m.type === "subscribed");
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: "2450.00", exchange_ts: new Date().toISOString() }] })).status).toBe(202);
  }, 60_000);
  afterAll(async () => {
    ws?.close();
    if (gw) expect((await gw.interrupt()).code).toBe(0);
  });

  async function restingBuy(quantity: number, price: string): Promise<string> {
    const placed = await api.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity, order_type: "LIMIT", price });
    expect(placed.status).toBe(202);
    const id = placed.body.order.order_id as string;
    await orderWhen(api, id, "resting", (o) => o.status === "OPEN");
    return id;
  }

  test("a smaller quantity shows on the order; a price at the market fills it at that price; then it is finished: 409", async () => {
    const id = await restingBuy(10, "2350.00");

    expect((await api.patch(`/api/v1/orders/${id}`, { quantity: 4 })).status).toBe(202);
    const smaller = await orderWhen(api, id, "quantity 4", (o) => o.quantity === 4);
    expect(smaller).toMatchObject({ status: "OPEN", price: "2350.00", filled_quantity: 0 });
    expect(smaller.events.find((e: any) => e.type === "order.modified").data).toMatchObject({ quantity: 4, price: "2350.00" });
    await ws.waitFor("order.modified pushed", (m) => m.channel === "orders.paper" && m.type === "order.modified" && m.data.order_id === id);

    const patched = await api.patch(`/api/v1/orders/${id}`, { price: "2450.00" });
    expect(patched.status).toBe(202);
    const filled = await orderWhen(api, id, "filled", (o) => o.status === "FILLED");
    expect(filled).toMatchObject({ quantity: 4, filled_quantity: 4, price: "2450.00", average_price: "2450.00" });
    expect(filled.events.map((e: any) => e.type)).toEqual(expect.arrayContaining(["order.submitted", "order.modified", "order.filled"]));

    const late = await api.patch(`/api/v1/orders/${id}`, { quantity: 8 });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("CONFLICT");
  }, 60_000);

  test("a modify risk refuses (over max_order_quantity) leaves the order as it was, and its event says why", async () => {
    const id = await restingBuy(10, "2350.00");
    expect((await api.patch(`/api/v1/orders/${id}`, { quantity: 5_000 })).status).toBe(202);
    const refused = await orderWhen(api, id, "the refusal recorded", (o) => o.events.some((e: any) => e.type === "order.modify_rejected"));
    expect(refused).toMatchObject({ status: "OPEN", quantity: 10, price: "2350.00" });
    const event = refused.events.find((e: any) => e.type === "order.modify_rejected");
    expect(event.data.reason_code).toBe("MAX_QUANTITY");
    expect(event.data.message).toContain("quantity 5000 exceeds the limit 1000");
    await ws.waitFor("order.modify_rejected pushed", (m) => m.channel === "orders.paper" && m.type === "order.modify_rejected" && m.data.order_id === id);

    // Still resting at its old price: a tick through it fills the 10.
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: "2349.00", exchange_ts: new Date().toISOString() }] })).status).toBe(202);
    expect(await orderWhen(api, id, "filled at its own price", (o) => o.status === "FILLED")).toMatchObject({ filled_quantity: 10, average_price: "2350.00" });
  }, 60_000);
});
