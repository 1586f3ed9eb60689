/**
 * The default request budgets against the embedded gateway, as a runaway script meets them: a
 * burst of orders with one key is cut at the write budget with 429 and Retry-After, reads still
 * go, and after the wait the key may write again. (That a WebSocket connect is charged as a read is
 * in rate-limit.unit.test.ts: the refill at 100/s outruns a test's timing here.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { apiClient } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";

const KEY = "ap_rate-limit-e2e-key-0000000000000";
const order = { broker: "paper", exchange: "NSE", symbol: "RELIANCE", side: "BUY", quantity: 1, order_type: "LIMIT", price: "100.00" };

let gw: GatewayProcess;
let url: string;
beforeAll(async () => {
  gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
  url = await gw.url(60_000);
}, 90_000);
afterAll(async () => {
  if (gw) expect((await gw.interrupt()).code).toBe(0);
}, 30_000);

test("a burst of 120 orders with one key: the default write budget (20/s, 40 at once) answers the rest 429 with Retry-After", async () => {
  const api = apiClient(url, KEY);
  const replies = await Promise.all(Array.from({ length: 120 }, () => api.post("/api/v1/orders", order)));
  const accepted = replies.filter((r) => r.status === 202);
  const refused = replies.filter((r) => r.status === 429);
  expect(accepted.length + refused.length).toBe(120);
  console.log(`a burst of 120 orders with one key: ${accepted.length} accepted, ${refused.length} refused 429`);
  // 40 at once, and what the rate adds while the burst is being answered.
  expect(accepted.length).toBeGreaterThanOrEqual(40);
  expect(accepted.length).toBeLessThan(80);
  for (const r of refused) {
    expect(r.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(r.body.error).toMatchObject({ code: "TOO_MANY_REQUESTS", details: { budget: "writes", per_second: 20, burst: 40 } });
    expect(r.body.error.message).toContain("too many write requests for this API key: the limit is 20 a second, 40 at once");
  }
  // Refused orders were never placed: the orders view holds the accepted ones only.
  const listed = await api.get("/api/v1/orders?limit=500");
  expect(listed.body.orders.length).toBe(accepted.length);
  // Reads are a budget of their own.
  expect((await api.get("/api/v1/orders?limit=1")).status).toBe(200);
  // After the wait the key may write again.
  await Bun.sleep(Number(refused[0]!.headers.get("retry-after")) * 1000);
  expect((await api.post("/api/v1/orders", order)).status).toBe(202);
}, 60_000);

test("reads past their budget (100/s, 200 at once) are refused", async () => {
  const api = apiClient(url, KEY);
  const replies = await Promise.all(Array.from({ length: 400 }, () => api.get("/api/v1/orders?limit=1")));
  const refused = replies.filter((r) => r.status === 429);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]!.body.error.details).toMatchObject({ budget: "reads", per_second: 100, burst: 200 });
  // Another caller is not charged for this key's requests: without a key, the address's own bucket.
  expect((await fetch(`${url}/api/v1/orders`)).status).toBe(401);
}, 60_000);
