/**
 * /docs in a real browser (Debian's Chromium, driven by playwright-core): the page renders every
 * operation of /openapi.json, with no page error, and every request it makes goes to the gateway.
 * Without Chromium: failed under REQUIRE_INFRA=1, skipped otherwise (test/support/chromium.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM, chromiumPresent } from "../support/chromium.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";

const present = await chromiumPresent("the /docs browser test");

describe.skipIf(!present)("/docs in Chromium", () => {
  let gw: GatewayProcess;
  let url: string;
  let browser: Browser;
  beforeAll(async () => {
    gw = spawnGateway({ PORT: "0", FEED: "none", LOG_LEVEL: "info" });
    url = await gw.url();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.interrupt();
  });

  test("renders every operation, and loads nothing from another host", async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => void requests.push(r.url()));
    page.on("pageerror", (e) => void errors.push(e.message));
    await page.goto(`${url}/docs`);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    await page.waitForFunction(`document.querySelectorAll(".opblock").length === ${operations}`, undefined, { timeout: 30_000 });
    expect(await page.locator(".info .title").textContent()).toContain("Alpha Panda gateway API");
    const origin = new URL(url).origin;
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests.filter((r) => new URL(r).origin !== origin && !r.startsWith("data:"))).toEqual([]);
    expect(requests).toEqual(expect.arrayContaining([`${origin}/docs`, `${origin}/docs/swagger-ui-bundle.js`, `${origin}/docs/swagger-ui.css`, `${origin}/openapi.json`]));
    expect(errors).toEqual([]);
  }, 60_000);
});
