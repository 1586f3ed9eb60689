/**
 * The desk follows an OpenAlgo instance read-only: in Chromium (as test/desk/desk.e2e.test.ts
 * drives it), against an embedded gateway with OPENALGO_SOURCE_TOPIC set; an OpenAlgo order
 * written to the source topic shows in the OpenAlgo blotter with no button, and its fill arrives
 * live over orders.openalgo. Without Chromium: skipped, or failed under REQUIRE_INFRA=1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startGateway, type Gateway } from "../../gateway/runtime.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { apiClient, until } from "../support/api-client.ts";
import { CHROMIUM, chromiumPresent } from "../support/chromium.ts";
import { slowTests } from "../support/timeout.ts";

slowTests(90_000);

const haveChromium = await chromiumPresent("the desk's OpenAlgo blotter");
const KEY = `desk_openalgo_${crypto.randomUUID().replaceAll("-", "")}`;
const SOURCE = `from_openalgo_desk_${Date.now().toString(36)}`;

// Skipped only without Chromium and without REQUIRE_INFRA=1: chromiumPresent() then registers a failing test instead (test/support/chromium.ts).
describe.skipIf(!haveChromium)("the desk's OpenAlgo blotter in Chromium", () => {
  let gw: Gateway;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const publish = async (data: Record<string, unknown>, second: number) => {
    const producer = gw.log.producer();
    try {
      const message = { event_type: "order_event", timestamp: `2026-01-29T10:30:${String(second).padStart(2, "0")}.000000Z`, user_id: "user123", source: "openalgo", data };
      await producer.send([{ topic: SOURCE, key: "user123", value: JSON.stringify(message) }]);
    } finally {
      await producer.close();
    }
  };

  beforeAll(async () => {
    const env = { PORT: "0", FEED: "none", DATA_DIR: "memory", BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: "warn", OPENALGO_SOURCE_TOPIC: SOURCE };
    gw = await startGateway(loadConfig(env), createLogger({ level: "warn", name: "gateway" }), env);
    const api = apiClient(gw.url, KEY);
    await until("the portfolio to be readable", async () => (await api.get("/api/v1/portfolios")).status === 200, 30_000, 100);
    await publish({ symbol: "SBIN-EQ", exchange: "NSE", action: "BUY", orderid: "OA-1", mode: "live", broker: "angel", quantity: "5", price: "850.50", pricetype: "LIMIT" }, 45);
    await until("the OpenAlgo order in the view", async () => (await api.get("/api/v1/sources/openalgo/orders")).body.orders?.length === 1, 15_000, 50);
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  test("an OpenAlgo order shows read-only; its fill arrives live", async () => {
    await page.goto(`${gw.url}/#key=${KEY}`);
    const row = page.getByTestId("openalgo-order-OA-1");
    await row.waitFor({ timeout: 20_000 });
    expect(await row.getAttribute("data-status")).toBe("OPEN");
    expect(await row.textContent()).toContain("SBIN-EQ (NSE)");
    expect(await row.textContent()).toContain("850.50");
    expect(await page.getByTestId("openalgo-orders").locator("button").count()).toBe(0);
    await publish({ symbol: "SBIN-EQ", exchange: "NSE", action: "BUY", orderid: "OA-1", mode: "live", broker: "angel", quantity: "5", order_status: "complete", filled_quantity: "5", average_price: "850.40" }, 50);
    await until("the fill on the page", async () => ((await row.getAttribute("data-status")) === "FILLED" ? true : undefined), 15_000, 50);
    expect(await row.textContent()).toContain("850.40");
    expect(errors).toEqual([]);
  });
});
