/**
 * POST /webhooks/:token and /api/v1/strategies/:id/webhooks over the fake services (in-process,
 * no socket): what each alert places (side, quantity, instrument, strategy, broker, product,
 * client_order_id), position_size to a target, replays, bad payloads naming the field, tokens
 * that are wrong or revoked answered as an unknown path, the rate limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RateLimiter } from "../../gateway/api/index.ts";
import { AlertKeys, mountWebhooks } from "../../gateway/webhooks/index.ts";
import { harness, silent, type Harness } from "../api/support.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const RELIANCE = 738561;
const SBIN = 779521;
const INFY = 408065;

let h: Harness;
let now = Date.parse("2026-01-05T04:00:00Z");
let token: string;
let webhookId: string;

async function alert(body: unknown, opts: { token?: string; type?: string; raw?: string } = {}) {
  const r = await h.app.request(`/webhooks/${opts.token ?? token}`, { method: "POST", headers: { "content-type": opts.type ?? "application/json" }, body: opts.raw ?? JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as any, headers: r.headers };
}

const make = async (strategy: string, rule: Record<string, unknown>) => {
  const r = await h.call("POST", `/api/v1/strategies/${strategy}/webhooks`, { body: rule });
  expect(r.status).toBe(201);
  return r.json as { token: string; path: string; webhook: { id: string } };
};

beforeAll(async () => {
  h = await harness();
  mountWebhooks(h.app, { services: h.services, logger: silent, alertKeys: new AlertKeys(30_000, () => now) });
  const made = await make("momentum_fast", { quantity: 5 });
  token = made.token;
  webhookId = made.webhook.id;
});
afterAll(() => h?.close());

const lastPlaced = () => h.services.placeCommands.at(-1)!;

describe("making, listing and revoking webhooks through the API", () => {
  test("201 with the token (wh_ + 43 characters) and its path, shown once; the list never shows it", async () => {
    const made = await make("momentum_fast", { broker: "paper", product: "CNC", quantity: 2, chartink_action: "BUY" });
    expect(made.token).toMatch(/^wh_[A-Za-z0-9_-]{43}$/);
    expect(made.path).toBe(`/webhooks/${made.token}`);
    expect(made.webhook).toMatchObject({ strategy_id: "momentum_fast", rule: { broker: "paper", product: "CNC", quantity: 2, chartink_action: "BUY" }, revoked_at: null });
    const listed = await h.call("GET", "/api/v1/strategies/momentum_fast/webhooks");
    expect(listed.status).toBe(200);
    expect(listed.json.webhooks.map((w: { id: string }) => w.id)).toContain(made.webhook.id);
    expect(JSON.stringify(listed.json)).not.toContain(made.token);
  });

  test("an unknown strategy is a 404; a bad rule a 422 naming the field; a broker that is not active a 404, as POST /orders answers", async () => {
    expect((await h.call("POST", "/api/v1/strategies/no_such/webhooks", { body: {} })).status).toBe(404);
    const bad = await h.call("POST", "/api/v1/strategies/momentum_fast/webhooks", { body: { quantity: 0, product: "BO" } });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details.map((p: { path: string }) => p.path).sort()).toEqual(["product", "quantity"]);
    const inactive = await h.call("POST", "/api/v1/strategies/momentum_fast/webhooks", { body: { broker: "zerodha" } });
    expect(inactive.status).toBe(404);
    expect(inactive.json.error.message).toContain("unknown broker");
  });

  test("the routes are in /openapi.json", () => {
    const paths = Object.keys((h.openapi as { paths: Record<string, unknown> }).paths);
    expect(paths).toContain("/api/v1/strategies/{id}/webhooks");
    expect(paths).toContain("/api/v1/strategies/{id}/webhooks/{webhook_id}");
  });
});

describe("a TradingView alert", () => {
  test("becomes one order of the webhook's strategy and broker, the rule's product, MARKET; sent as text/plain as TradingView does", async () => {
    const r = await alert({ symbol: "SBIN", action: "buy", quantity: "10", price: 812.35 }, { type: "text/plain" });
    expect(r.status).toBe(202);
    expect(lastPlaced()).toMatchObject({ broker: "paper", instrument_token: SBIN, side: "BUY", quantity: 10, order_type: "MARKET", product: "MIS", strategy_id: "momentum_fast" });
    expect(lastPlaced().price).toBeUndefined();
    expect(lastPlaced().client_order_id).toMatch(/^wh\.[0-9a-f]{12}\.b[0-9a-f]{20}-[0-9a-z]+\.0$/);
    expect(r.json).toMatchObject({ status: "success", alert: "tradingview", webhook_id: webhookId, strategy_id: "momentum_fast", broker: "paper" });
    expect(r.json.orders).toHaveLength(1);
    expect(r.json.orders[0]).toMatchObject({ symbol: "SBIN", exchange: "NSE", side: "BUY", quantity: 10, replayed: false });
  });

  test("exchange, product, pricetype and prices as OpenAlgo sends them; NSE:INFY splits; without quantity the rule's", async () => {
    const r = await alert({ symbol: "NSE:INFY", action: "SELL", product: "cnc", pricetype: "LIMIT", price: "1885.20", id: "limit-1" });
    expect(r.status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: INFY, side: "SELL", quantity: 5, order_type: "LIMIT", price: 188_520, product: "CNC" });
  });

  test("position_size moves the strategy's net position to the target: 10 → 4 sells 6; at 10 nothing is placed", async () => {
    // The fake portfolio holds momentum_fast long 10 RELIANCE.
    const r = await alert({ symbol: "RELIANCE", action: "SELL", position_size: 4, quantity: 100, id: "ps-1" });
    expect(r.status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: RELIANCE, side: "SELL", quantity: 6 });
    expect(r.json.position).toEqual({ current: 10, target: 4, side: "SELL", quantity: 6 });
    const placed = h.services.placeCommands.length;
    const at = await alert({ symbol: "RELIANCE", action: "BUY", position_size: "10", id: "ps-2" });
    expect(at.status).toBe(200);
    expect(at.json.message).toContain("already at target");
    expect(at.json.orders).toEqual([]);
    expect(h.services.placeCommands.length).toBe(placed);
    const reverse = await alert({ symbol: "RELIANCE", action: "SELL", position_size: -10, id: "ps-3" });
    expect(lastPlaced()).toMatchObject({ side: "SELL", quantity: 20 });
    expect(reverse.status).toBe(202);
  });

  test("a rule's trading_mode reads alerts as OpenAlgo's strategy modes: LONG exits with SELL, SHORT enters with SELL, BOTH needs position_size", async () => {
    const long = (await make("momentum_fast", { quantity: 4, trading_mode: "LONG" })).token;
    const exit = await alert({ symbol: "RELIANCE", action: "SELL", id: "long-exit" }, { token: long });
    expect(exit.status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: RELIANCE, side: "SELL", quantity: 10 });
    expect((await alert({ symbol: "SBIN", action: "BUY", position_size: 7, id: "long-entry" }, { token: long })).status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: SBIN, side: "BUY", quantity: 7 });

    const short = (await make("momentum_fast", { quantity: 4, trading_mode: "SHORT" })).token;
    expect((await alert({ symbol: "SBIN", action: "SELL", id: "short-entry" }, { token: short })).status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: SBIN, side: "SELL", quantity: 4 });
    const flat = await alert({ symbol: "SBIN", action: "BUY", id: "short-exit" }, { token: short });
    expect(flat.status).toBe(200);
    expect(flat.json.message).toContain("already at target");

    const both = (await make("momentum_fast", { trading_mode: "BOTH" })).token;
    for (const [body, path] of [
      [{ symbol: "RELIANCE", action: "BUY", quantity: 1 }, "position_size"],
      [{ symbol: "RELIANCE", action: "BUY", position_size: -1 }, "position_size"],
      [{ symbol: "RELIANCE", action: "SELL", position_size: 1 }, "position_size"],
    ] as const) {
      const r = await alert(body, { token: both });
      expect(r.status).toBe(422);
      expect(r.json.error.details[0].path).toBe(path);
    }
    expect((await alert({ symbol: "RELIANCE", action: "SELL", position_size: -5, id: "both-1" }, { token: both })).status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: RELIANCE, side: "SELL", quantity: 15 });
  });

  test("a replay with the same id places nothing more: the first order, 200, replayed", async () => {
    const first = await alert({ symbol: "TCS", action: "BUY", quantity: 1, id: "tv-42" });
    const again = await alert({ symbol: "TCS", action: "BUY", quantity: 1, id: "tv-42" });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json.orders[0].order_id).toBe(first.json.orders[0].order_id);
    expect(again.json.orders[0].replayed).toBe(true);
    // The same id for another signal is refused, never taken as a replay.
    const reused = await alert({ symbol: "TCS", action: "SELL", quantity: 1, id: "tv-42" });
    expect(reused.status).toBe(409);
  });

  test("without an id the same body is one alert within the window, and a new one after it", async () => {
    const body = { symbol: "ITC", action: "BUY", quantity: 3 };
    const first = await alert(body);
    now += 10_000;
    const retried = await alert(body);
    expect(retried.json.orders[0].order_id).toBe(first.json.orders[0].order_id);
    now += 30_000;
    const later = await alert(body);
    expect(later.status).toBe(202);
    expect(later.json.orders[0].order_id).not.toBe(first.json.orders[0].order_id);
  });

  test("bad payloads are 4xx naming the field", async () => {
    const named = async (body: unknown, path: string, status = 422) => {
      const r = await alert(body);
      expect(r.status).toBe(status);
      expect(r.json.error.details.map((p: { path: string }) => p.path)).toContain(path);
      expect(r.json.error.message).toContain(path);
    };
    await named({ action: "BUY", quantity: 1 }, "symbol");
    await named({ symbol: "SBIN", action: "HOLD", quantity: 1 }, "action");
    await named({ symbol: "SBIN", action: "BUY", quantity: "ten" }, "quantity");
    await named({ symbol: "SBIN", action: "BUY", quantity: 0 }, "quantity");
    await named({ symbol: "NOPE", action: "BUY", quantity: 1 }, "symbol");
    await named({ symbol: "SBIN", action: "BUY", position_size: "flat" }, "position_size");
    await named({ symbol: "SBIN", action: "BUY", quantity: 1, pricetype: "LIMIT" }, "price");
    await named({ symbol: "SBIN", action: "BUY", quantity: 1, pricetype: "LIMIT", price: "812.333" }, "price");
    await named({ symbol: "SBIN", action: "BUY", quantity: 1, pricetype: "LIMIT", price: "812.33" }, "price"); // off the 0.05 grid
    await named({ symbol: "SBIN", stocks: "SBIN" }, "stocks");
    await named(Object.fromEntries([["symbol", "SBIN"], ["action", "BUY"], ...Array.from({ length: 100 }, (_, i) => [`f${i}`, i])]), "body");
    const notJson = await alert(undefined, { raw: "BUY SBIN", type: "text/plain" });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe("BAD_JSON");
    const big = await alert(undefined, { raw: JSON.stringify({ symbol: "SBIN", action: "BUY", quantity: 1, pad: "x".repeat(17_000) }) });
    expect(big.status).toBe(413);
  });
});

describe("a ChartInk alert", () => {
  const scan = { stocks: "SBIN,RELIANCE,NOTASTOCK", trigger_prices: "812.35,1290.5,10", triggered_at: "2:34 pm", scan_name: "Short term breakouts BUY", scan_url: "short-term-breakouts", alert_name: "Alert for Short term breakouts", webhook_url: "http://127.0.0.1:8080/webhooks/x" };

  test("one order per known stock, by the rule (scan name BUY → buy the rule's quantity); an unknown stock is skipped and said", async () => {
    const before = h.services.placeCommands.length;
    const r = await alert(scan);
    expect(r.status).toBe(202);
    const placed = h.services.placeCommands.slice(before);
    expect(placed.map((c) => [c.instrument_token, c.side, c.quantity, c.strategy_id, c.broker, c.order_type])).toEqual([
      [SBIN, "BUY", 5, "momentum_fast", "paper", "MARKET"],
      [RELIANCE, "BUY", 5, "momentum_fast", "paper", "MARKET"],
    ]);
    expect(new Set(placed.map((c) => c.client_order_id)).size).toBe(2);
    expect(r.json.skipped).toEqual([{ symbol: "NOTASTOCK", reason: "no instrument NOTASTOCK on NSE" }]);
    expect(r.json.orders.map((o: { trigger_price_at_alert: string }) => o.trigger_price_at_alert)).toEqual(["812.35", "1290.5"]);
    // Delivered again: the same two orders, nothing new.
    const again = await alert(scan);
    expect(again.status).toBe(200);
    expect(h.services.placeCommands.length).toBe(before + 4);
    expect(again.json.orders.map((o: { order_id: string }) => o.order_id)).toEqual(r.json.orders.map((o: { order_id: string }) => o.order_id));
  });

  test("SHORT sells the rule's quantity; SELL takes the strategy's position to flat; no keyword is a 422 naming scan_name", async () => {
    const short = await alert({ ...scan, stocks: "TCS", trigger_prices: "4120", scan_name: "Weak SHORT setups", triggered_at: "2:40 pm" });
    expect(short.status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: 2953217, side: "SELL", quantity: 5 });
    const exit = await alert({ stocks: "RELIANCE,INFY", scan_name: "exit SELL", triggered_at: "2:41 pm" });
    expect(exit.status).toBe(202);
    expect(lastPlaced()).toMatchObject({ instrument_token: RELIANCE, side: "SELL", quantity: 10 });
    expect(exit.json.skipped).toEqual([{ symbol: "INFY", reason: "already flat" }]);
    const none = await alert({ stocks: "SBIN", scan_name: "Breakouts" });
    expect(none.status).toBe(422);
    expect(none.json.error.details[0].path).toBe("scan_name");
  });

  test("bad payloads name the field: no known stock, too many stocks, trigger prices that do not match", async () => {
    const unknown = await alert({ stocks: "FOO,BAR", scan_name: "BUY" });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error.details[0].path).toBe("stocks");
    const many = await alert({ stocks: Array.from({ length: 101 }, () => "SBIN").join(","), scan_name: "BUY" });
    expect(many.status).toBe(422);
    expect(many.json.error.details[0].path).toBe("stocks");
    const mismatch = await alert({ stocks: "SBIN,TCS", trigger_prices: "1", scan_name: "BUY" });
    expect(mismatch.status).toBe(422);
    expect(mismatch.json.error.details[0].path).toBe("trigger_prices");
  });
});

describe("tokens", () => {
  test("a wrong token, a malformed one and a revoked one get the unknown path's answer, nothing more", async () => {
    const unknownPath = await h.app.request("/no/such/path", { method: "POST" });
    const expected = async (t: string) => {
      const r = await alert({ symbol: "SBIN", action: "BUY", quantity: 1 }, { token: t });
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: { code: "NOT_FOUND", message: `no route for POST /webhooks/${t}`, details: null } });
    };
    expect(unknownPath.status).toBe(404);
    await expected(`wh_${"A".repeat(43)}`);
    await expected("guess");
    const made = await make("momentum_fast", { quantity: 1 });
    expect((await alert({ symbol: "SBIN", action: "BUY", quantity: 1, id: "before-revoke" }, { token: made.token })).status).toBe(202);
    const revoked = await h.call("DELETE", `/api/v1/strategies/momentum_fast/webhooks/${made.webhook.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.json.webhook.revoked_at).not.toBeNull();
    expect((await h.call("DELETE", `/api/v1/strategies/momentum_fast/webhooks/${made.webhook.id}`)).status).toBe(404);
    await expected(made.token);
  });

  test("a disabled strategy's webhook places nothing (409)", async () => {
    await h.services.strategies.update("momentum_fast", { enabled: false });
    const r = await alert({ symbol: "SBIN", action: "BUY", quantity: 1, id: "while-disabled" });
    await h.services.strategies.update("momentum_fast", { enabled: true });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toContain("disabled");
  });

  test("alerts are charged to the writes budget, per webhook; past it 429 with Retry-After", async () => {
    const limited = await harness({ store: h.store });
    mountWebhooks(limited.app, { services: limited.services, logger: silent, rateLimiter: new RateLimiter({ reads: { perSecond: 0, burst: 0 }, writes: { perSecond: 1, burst: 2 }, ticks: { perSecond: 0, burst: 0 } }) });
    const { token: t } = (await limited.call("POST", "/api/v1/strategies/momentum_fast/webhooks", { body: { quantity: 1 } })).json;
    const send = (i: number) => limited.app.request(`/webhooks/${t}`, { method: "POST", body: JSON.stringify({ symbol: "SBIN", action: "BUY", id: `r${i}` }) });
    expect((await send(1)).status).toBe(202);
    expect((await send(2)).status).toBe(202);
    const over = await send(3);
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toBe("1");
  });
});
