/**
 * OpenAlgo's key and mode rules in-process (gateway/openalgo over the fake services and a real
 * api_keys table on PGlite): a read key may ask but not act; live mode is zerodha and is refused
 * where zerodha does not run; each key has its own mode; a revoked key is OpenAlgo's 403.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RateLimiter } from "../../gateway/api/rate-limit.ts";
import { harness, type Harness } from "../api/support.ts";
import { responseProblems } from "./contract.ts";

const post = (h: Harness, name: string, body: unknown) => h.call("POST", `/api/v1/${name}`, { body, key: null });

describe("OpenAlgo keys and modes (in-process)", () => {
  let h: Harness;
  let paperOnly: Harness;
  beforeAll(async () => {
    h = await harness({ openAlgo: true, activeBrokers: ["paper", "zerodha"] });
    paperOnly = await harness({ openAlgo: true });
  }, 30_000);
  afterAll(async () => {
    await h.close();
    await paperOnly.close();
  });

  test("a read key may ask for the mode but not switch it", async () => {
    expect((await post(h, "analyzer", { apikey: h.readKey })).status).toBe(200);
    const r = await post(h, "analyzer/toggle", { apikey: h.readKey, mode: false });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ status: "error", message: "analyzer/toggle needs an API key with the trade scope; this key has read" });
  });

  test("each key has its own mode: one live on zerodha, the other still on paper", async () => {
    const other = (await h.keys.create(["trade"], "other")).key;
    const toggled = await post(h, "analyzer/toggle", { apikey: h.tradeKey, mode: false });
    expect(toggled.status).toBe(200);
    expect(responseProblems("/analyzer/toggle", toggled.status, toggled.json)).toEqual([]);
    expect(toggled.json.data).toMatchObject({ mode: "live", analyze_mode: false, message: "Analyzer mode switched to live" });
    expect((await post(h, "ping", { apikey: h.tradeKey })).json.data.broker).toBe("zerodha");
    expect((await post(h, "ping", { apikey: other })).json.data.broker).toBe("paper");
    expect((await post(h, "analyzer/toggle", { apikey: h.tradeKey, mode: "True" })).json.data.mode).toBe("analyze");
    expect((await post(h, "ping", { apikey: h.tradeKey })).json.data.broker).toBe("paper");
  });

  test("live mode is refused where zerodha does not run; a key another gateway left live pings as zerodha", async () => {
    const r = await post(paperOnly, "analyzer/toggle", { apikey: paperOnly.tradeKey, mode: false });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe("live mode trades zerodha, which this gateway does not run (ACTIVE_BROKERS=paper)");
    // The same database behind a zerodha gateway set the key live; this paper-only gateway says how to get back.
    await paperOnly.store.sql`update api_keys set openalgo_live = true where name = 'test-trade'`;
    const ping = await post(paperOnly, "ping", { apikey: paperOnly.tradeKey });
    expect(ping.json.data.broker).toBe("zerodha");
    await paperOnly.store.sql`update api_keys set openalgo_live = false where name = 'test-trade'`;
  });

  test("a revoked key is OpenAlgo's 403, word for word", async () => {
    const made = await h.keys.create(["trade"], "revoked");
    await h.keys.revoke(made.id);
    const r = await post(h, "ping", { apikey: made.key });
    expect(r).toMatchObject({ status: 403, json: { status: "error", message: "Invalid openalgo apikey" } });
  });

  test("fields are named: a missing apikey, a mode that is not a boolean", async () => {
    const missing = await post(h, "ping", {});
    expect(missing.status).toBe(400);
    expect(missing.json.message).toBe("apikey: is required");
    const bad = await post(h, "analyzer/toggle", { apikey: h.tradeKey, mode: "maybe" });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toStartWith("mode: ");
    const array = await post(h, "ping", [1, 2]);
    expect(array).toMatchObject({ status: 400, json: { status: "error", message: "the body must be a JSON object" } });
  });
});

describe("OpenAlgo calls are rate-limited like the API's, per key, and answered in OpenAlgo's shape", () => {
  test("past the writes budget a switch is 429 with Retry-After; reads have their own budget; another key is not charged", async () => {
    const limiter = new RateLimiter({ reads: { perSecond: 1, burst: 3 }, writes: { perSecond: 1, burst: 2 }, ticks: { perSecond: 0, burst: 0 } });
    const h = await harness({ openAlgo: true, rateLimiter: limiter });
    try {
      const toggle = () => post(h, "analyzer/toggle", { apikey: h.tradeKey, mode: true });
      expect((await toggle()).status).toBe(200);
      expect((await toggle()).status).toBe(200);
      const spent = await toggle();
      expect(spent.status).toBe(429);
      expect(spent.headers.get("retry-after")).toBe("1");
      expect(spent.json.status).toBe("error");
      expect(spent.json.message).toStartWith("too many write requests for this API key");
      expect((await post(h, "analyzer", { apikey: h.tradeKey })).status).toBe(200);
      const other = (await h.keys.create(["trade"], "other")).key;
      expect((await post(h, "analyzer/toggle", { apikey: other, mode: true })).status).toBe(200);
    } finally {
      await h.close();
    }
  }, 30_000);
});
