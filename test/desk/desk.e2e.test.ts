/**
 * The desk in a real browser: Debian's Chromium (never a downloaded one) driven by playwright-core,
 * against an embedded gateway started as a user would, with a trade key. Ticks and orders go over
 * REST (FEED=none, the seeded strategies disabled), so what the page shows can be held to the REST
 * answers exactly. The screenshot is written to test-results/desk.png (the path is printed).
 *
 * Without Chromium: skipped, or failed under REQUIRE_INFRA=1 (like the other infra tests).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import type { Browser, Page } from "playwright-core";
import { ApiKeys } from "../../gateway/api/auth.ts";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";
import { CHROMIUM, chromiumPresent } from "../support/chromium.ts";

slowTests(90_000);

const haveChromium = await chromiumPresent("the desk's browser tests");

const KEY = `desk_e2e_${crypto.randomUUID().replaceAll("-", "")}`;
const RELIANCE = 738561;
const TCS = 2953217;
const SCREENSHOT = join(import.meta.dir, "../../test-results/desk.png");

describe.skipIf(!haveChromium)("the desk in Chromium", () => {
  let gw: GatewayProcess;
  let base = "";
  let api: ReturnType<typeof apiClient>;
  let browser: Browser;
  let page: Page;
  const external: string[] = [];
  const errors: string[] = [];

  const rupeesOnPage = async (testid: string) => (await page.getByTestId(testid).textContent())!.replace(/[₹,]/g, "");
  const settled = (id: string, statuses: string[]) =>
    until(`order ${id} to be ${statuses.join(" or ")}`, async () => {
      const order = (await api.get(`/api/v1/orders/${id}`)).body.order;
      return statuses.includes(order?.status) ? order : undefined;
    }, 20_000, 50);
  const place = async (body: Record<string, unknown>) => {
    const r = await api.post("/api/v1/orders", { broker: "paper", side: "BUY", ...body });
    expect(r.status).toBe(202);
    return r.body.order.order_id as string;
  };
  /** A button the test is about to press: enabled (a disabled one says why in its title). */
  const enabled = async (button: ReturnType<Page["getByTestId"]>) => {
    await button.waitFor({ timeout: 10_000 });
    expect(`${await button.isEnabled()} ${await button.getAttribute("title")}`).toStartWith("true");
  };

  const tick = async (token: number, price: string) => expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: token, last_price: price }] })).status).toBe(202);

  beforeAll(async () => {
    gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
    base = await gw.url(30_000);
    api = apiClient(base, KEY);
    // The portfolio answers once its read model is built (503 before).
    await until("the portfolio to be readable", async () => (await api.get("/api/v1/portfolios")).status === 200, 30_000, 100);
    for (const s of (await api.get("/api/v1/strategies")).body.strategies) {
      expect((await api.patch(`/api/v1/strategies/${s.id}`, { enabled: false })).status).toBe(200);
    }
    await tick(RELIANCE, "1300.00");
    await tick(TCS, "4100.00");
    // Some fills before the page opens: two of RELIANCE, one of TCS.
    for (const [token, quantity] of [[RELIANCE, 2], [TCS, 1]] as const) await settled(await place({ instrument_token: token, quantity, order_type: "MARKET" }), ["FILLED"]);
    await until("the fills in the portfolio", async () => (await api.get("/api/v1/portfolios/paper")).body.portfolio?.positions.length === 2, 20_000, 50);

    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const origin = new URL(base);
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.host !== origin.host) external.push(r.url());
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console error: ${m.text()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.interrupt();
  });

  test("opening /#key=… signs in, and the key leaves the address bar", async () => {
    await page.goto(`${base}/#key=${KEY}`);
    await page.getByTestId("cash-paper").waitFor({ timeout: 20_000 });
    expect(page.url()).toBe(`${base}/`);
    expect(await page.evaluate(() => sessionStorage.getItem("alpha-panda.api-key"))).toBe(KEY);
    for (const stage of ["strategy", "risk", "execution", "portfolio"]) await page.getByTestId(`stage-${stage}`).waitFor({ timeout: 10_000 });
    await page.getByTestId("pnl-chart").locator("canvas").waitFor({ timeout: 10_000 });
  });

  test("cash, P&L and positions on the page are the REST answers", async () => {
    const portfolio = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
    await until("the page's cash to be the REST cash", async () => (await rupeesOnPage("cash-paper")) === portfolio.cash, 10_000);
    expect(await rupeesOnPage("realised-pnl-paper")).toBe(portfolio.realised_pnl);
    expect(await rupeesOnPage("unrealised-pnl-paper")).toBe(portfolio.unrealised_pnl);
    const net = new Map<number, number>();
    for (const p of portfolio.positions) net.set(p.instrument_token, (net.get(p.instrument_token) ?? 0) + p.quantity);
    expect([...net]).toEqual(expect.arrayContaining([[RELIANCE, 2], [TCS, 1]]));
    for (const [token, quantity] of net) {
      expect(await page.getByTestId(`position-paper-${token}`).getAttribute("data-quantity")).toBe(String(quantity));
      expect(await page.getByTestId(`position-paper-${token}`).getByTestId("net-quantity").textContent()).toBe(String(quantity));
    }
  });

  test("a fill moves cash and the position on the page without a reload", async () => {
    await settled(await place({ instrument_token: TCS, quantity: 1, order_type: "MARKET" }), ["FILLED"]);
    const portfolio = await until("TCS at 2 over REST", async () => {
      const p = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
      return p.positions.find((x: { instrument_token: number }) => x.instrument_token === TCS)?.quantity === 2 ? p : undefined;
    }, 10_000);
    await until("the page to show TCS at 2", async () => (await page.getByTestId(`position-paper-${TCS}`).getAttribute("data-quantity")) === "2", 10_000);
    expect(await rupeesOnPage("cash-paper")).toBe(portfolio.cash);
    const fills = (await api.get("/api/v1/trades?broker=paper")).body.trades.map((t: { fill_id: string }) => `trade-${t.fill_id}`);
    expect(fills).toHaveLength(3);
    await until("the page's trades to be the REST trades, newest first", async () => {
      const shown = await page.locator("[data-testid^=trade-]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-testid")));
      return JSON.stringify(shown) === JSON.stringify(fills) || (console.log(shown, fills), false);
    }, 10_000);
  });

  let resting = "";
  test("an order placed over REST appears in the blotter without a reload", async () => {
    resting = await place({ instrument_token: RELIANCE, quantity: 1, order_type: "LIMIT", price: "1270.00" });
    await settled(resting, ["OPEN"]);
    const row = page.getByTestId(`order-${resting}`);
    await until("the blotter row to be OPEN", async () => (await row.getAttribute("data-status").catch(() => null)) === "OPEN", 10_000);
    expect(await page.locator("[data-testid^=order-]").first().getAttribute("data-testid")).toBe(`order-${resting}`); // newest first
    expect(await row.getByTestId("cancel").isEnabled()).toBe(true);
  });

  test("cancel from the blotter cancels the order", async () => {
    await page.getByTestId(`order-${resting}`).getByTestId("cancel").click();
    await settled(resting, ["CANCELLED"]);
    await until("the blotter row to be CANCELLED", async () => (await page.getByTestId(`order-${resting}`).getAttribute("data-status")) === "CANCELLED", 10_000);
    expect(await page.getByTestId(`order-${resting}`).getByTestId("cancel").count()).toBe(0);
  });

  // Needs PATCH /api/v1/orders/:id (part `modify`): until then the button says the gateway lacks it.
  test("modify from the blotter changes the order's price", async () => {
    const id = await place({ instrument_token: RELIANCE, quantity: 1, order_type: "LIMIT", price: "1271.00" });
    await settled(id, ["OPEN"]);
    const modify = page.getByTestId(`order-${id}`).getByTestId("modify");
    await enabled(modify);
    await modify.click();
    await page.locator("dialog input[name=price]").fill("1275.50");
    await page.getByTestId("confirm").click();
    await until("the order's price to be 1275.50 over REST", async () => (await api.get(`/api/v1/orders/${id}`)).body.order?.price === "1275.50", 15_000);
    await until("the blotter to show the new price", async () => (await page.getByTestId(`order-${id}`).getByTestId("price").textContent())?.includes("1,275.50"), 10_000);
    await api.del(`/api/v1/orders/${id}`);
  });

  test("the kill switch asks to confirm, shows HALTED, and a following order is REJECTED", async () => {
    await page.getByTestId("kill-switch-paper").click();
    await page.getByTestId("confirm").click();
    await until("the page to show HALTED", async () => (await page.getByTestId("trading-state-paper").textContent()) === "HALTED", 10_000);
    expect((await api.get("/api/v1/risk/paper/limits")).body.risk.state).toBe("HALTED");
    const halted = await until("risk to have the HALTED state", async () => {
      const id = await place({ instrument_token: TCS, quantity: 1, order_type: "MARKET" });
      const order = await settled(id, ["REJECTED", "FILLED"]);
      return order.status === "REJECTED" ? order : undefined;
    }, 20_000, 200);
    expect(halted.reason_code).toBe("TRADING_HALTED");
    await until("the rejected order in the blotter", async () => (await page.getByTestId(`order-${halted.order_id}`).getAttribute("data-status").catch(() => null)) === "REJECTED", 10_000);
    // And back to ACTIVE from the desk.
    await page.getByTestId("kill-switch-paper").click();
    await page.getByTestId("confirm").click();
    await until("the page to show ACTIVE", async () => (await page.getByTestId("trading-state-paper").textContent()) === "ACTIVE", 10_000);
  });

  // Needs POST /api/v1/portfolios/:broker/close (part `squareoff`).
  test("square-off of a row from the desk flattens that instrument, even while HALTED", async () => {
    const row = page.getByTestId(`position-paper-${RELIANCE}`);
    await enabled(row.getByTestId("square-off"));
    expect((await api.post("/api/v1/risk/paper/state", { state: "HALTED", reason: "desk e2e" })).status).toBe(200);
    try {
      await row.getByTestId("square-off").click();
      await page.getByTestId("confirm").click();
      await until("RELIANCE flat over REST", async () => {
        const p = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
        return p.positions.filter((x: { instrument_token: number }) => x.instrument_token === RELIANCE).every((x: { quantity: number }) => x.quantity === 0);
      }, 20_000);
      await until("the row to show 0", async () => (await row.getAttribute("data-quantity")) === "0", 10_000);
      expect(await page.getByTestId(`position-paper-${TCS}`).getAttribute("data-quantity")).toBe("2"); // the other row untouched
    } finally {
      await api.post("/api/v1/risk/paper/state", { state: "ACTIVE" });
    }
  });

  // Needs DELETE /api/v1/orders?broker= (part `squareoff`).
  test("cancel-all from the desk cancels every open order of the broker", async () => {
    await enabled(page.getByTestId("cancel-all-paper"));
    const ids = [await place({ instrument_token: RELIANCE, quantity: 1, order_type: "LIMIT", price: "1268.00" }), await place({ instrument_token: TCS, quantity: 1, order_type: "LIMIT", price: "4000.00" })];
    for (const id of ids) await settled(id, ["OPEN"]);
    await page.getByTestId("cancel-all-paper").click();
    await page.getByTestId("confirm").click();
    for (const id of ids) {
      await settled(id, ["CANCELLED"]);
      await until(`row ${id} CANCELLED`, async () => (await page.getByTestId(`order-${id}`).getAttribute("data-status")) === "CANCELLED", 10_000);
    }
  });

  test("a screenshot of the desk is written", async () => {
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`desk screenshot: ${SCREENSHOT}`);
    expect(Buffer.from(await Bun.file(SCREENSHOT).bytes()).subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  test("a newcomer's gateway prints the desk's link with its development key, and the link opens the desk", async () => {
    expect((await gw.waitFor((l) => l.msg === "gateway listening", 1_000)).desk).toBe(`${base}/`); // a chosen key is never printed
    const fresh = spawnGateway({ PORT: "0", FEED: "none" });
    try {
      const listening = await fresh.waitFor((l) => l.msg === "gateway listening", 30_000);
      const link = String(listening.desk);
      expect(link).toMatch(new RegExp(`^${listening.url}/#key=ap_[A-Za-z0-9_-]{43}$`));
      const other = await browser.newPage();
      other.on("pageerror", (e) => errors.push(`page error (newcomer): ${e.message}`));
      await other.goto(link);
      await other.getByTestId("cash-paper").waitFor({ timeout: 30_000 });
      expect(other.url()).toBe(`${listening.url}/`);
      expect(await other.getByTestId("kill-switch-paper").isEnabled()).toBe(true); // a trade key
      await other.close();
    } finally {
      await fresh.interrupt();
    }
  });

  test("nothing was loaded from another host, and no page or console error occurred", () => {
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
  });
});

// A read key can only be made with a database the test can reach too: the real PostgreSQL.
const postgresUp = haveChromium && (await needs("postgres"));

describe.skipIf(!postgresUp)("the desk in Chromium, signed in by hand with a read key", () => {
  let gw: GatewayProcess;
  let db: Awaited<ReturnType<typeof freshDatabaseUrl>>;
  let browser: Browser;

  afterAll(async () => {
    await browser?.close();
    await gw?.interrupt();
    await db?.drop();
  });

  test("the sign-in form refuses an unknown key; a read key sees the desk with every action disabled, saying why", async () => {
    db = await freshDatabaseUrl(undefined, "desk");
    gw = spawnGateway({ PORT: "0", FEED: "none", DATABASE_URL: db.url, BOOTSTRAP_API_KEY: KEY });
    const base = await gw.url(30_000);
    const api = apiClient(base, KEY);
    await until("the portfolio to be readable", async () => (await api.get("/api/v1/portfolios")).status === 200, 30_000, 100);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const readKey = (await new ApiKeys(sql).create(["read"], "desk-e2e")).key;
    await sql.end({ timeout: 5 });
    await api.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: "1300.00" }] });
    const open = (await api.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "LIMIT", price: "1270.00" })).body.order.order_id;
    await until("the LIMIT order to rest", async () => (await api.get(`/api/v1/orders/${open}`)).body.order?.status === "OPEN", 20_000, 50);

    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator("#key").fill("ap_not_a_key_of_this_gateway_0000000000");
    await page.locator("#sign-in button[type=submit]").click();
    await until("the refusal", async () => (await page.locator("#sign-in-error").textContent())?.includes("unknown or revoked"), 10_000);
    expect(await page.getByTestId("cash-paper").count()).toBe(0);

    await page.locator("#key").fill(readKey);
    await page.locator("#sign-in button[type=submit]").click();
    await page.getByTestId("cash-paper").waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => sessionStorage.getItem("alpha-panda.api-key"))).toBe(readKey);
    const row = page.getByTestId(`order-${open}`);
    await row.waitFor({ timeout: 10_000 });
    for (const button of [page.getByTestId("kill-switch-paper"), row.getByTestId("cancel"), row.getByTestId("modify"), page.getByTestId("cancel-all-paper"), page.getByTestId("square-off-all-paper")]) {
      expect(await button.isDisabled()).toBe(true);
      expect(await button.getAttribute("title")).toContain("needs a trade key");
    }
    // Reading is allowed: the order, the risk state and the stages are all there.
    expect(await page.getByTestId("trading-state-paper").textContent()).toBe("ACTIVE");
    await page.getByTestId("stage-execution").waitFor({ timeout: 10_000 });
  });
});
