/**
 * /docs in a real browser (Debian's Chromium): the page renders every operation of /openapi.json,
 * with no page error, and every request it makes goes to the gateway. Without Chromium the test
 * fails under REQUIRE_INFRA=1 and is skipped otherwise, like the other infrastructure tests.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hasChromium, launch, type Browser, CHROMIUM } from "../support/cdp.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { requireInfra } from "../support/infra.ts";

const present = hasChromium();
if (!present && requireInfra) {
  test(`Chromium is installed at ${CHROMIUM} (REQUIRE_INFRA=1)`, () => {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (scripts/infra.ts)`);
  });
}

describe.skipIf(!present)("/docs in Chromium", () => {
  let gw: GatewayProcess;
  let url: string;
  let browser: Browser;
  beforeAll(async () => {
    gw = spawnGateway({ PORT: "0", FEED: "none", LOG_LEVEL: "info" });
    url = await gw.url();
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.interrupt();
  });

  test("renders every operation, and loads nothing from another host", async () => {
    const page = await browser.open(`${url}/docs`);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    await page.waitFor(`document.querySelectorAll(".opblock").length === ${operations}`, 30_000);
    expect(await page.evaluate<string>(`document.querySelector(".info .title")?.textContent ?? ""`)).toContain("Alpha Panda gateway API");
    const origin = new URL(url).origin;
    expect(page.requests.length).toBeGreaterThanOrEqual(5);
    expect(page.requests.filter((r) => new URL(r).origin !== origin && !r.startsWith("data:"))).toEqual([]);
    expect(page.requests).toEqual(expect.arrayContaining([`${origin}/docs`, `${origin}/docs/swagger-ui-bundle.js`, `${origin}/docs/swagger-ui.css`, `${origin}/openapi.json`]));
    expect(page.errors).toEqual([]);
  }, 60_000);
});
