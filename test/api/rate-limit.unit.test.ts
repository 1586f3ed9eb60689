/**
 * Rate limits per API key: the token bucket's arithmetic, the 429 with Retry-After in our error
 * shape, one key's budget apart from another's, reads apart from writes, requests without a
 * valid key charged to the client address, and 0 = off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { budgetOf, limitUpgrades, RateLimiter, take, type RateLimits } from "../../gateway/api/rate-limit.ts";
import { loadConfig } from "../../src/config.ts";
import { harness, type Harness } from "./support.ts";

const order = { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 10, order_type: "LIMIT", price: "2451.35" };

describe("the token bucket", () => {
  const budget = { perSecond: 2, burst: 4 };

  test("a fresh bucket holds the burst; each request takes one token", () => {
    let b = take(undefined, budget, 0);
    expect(b).toEqual({ bucket: { tokens: 3, at: 0 } });
    for (const left of [2, 1, 0]) {
      b = take(b.bucket, budget, 0);
      expect(b.bucket.tokens).toBe(left);
      expect(b.retryAfterS).toBeUndefined();
    }
  });

  test("empty: refused with the whole seconds until the next token, at least 1", () => {
    expect(take({ tokens: 0, at: 0 }, budget, 0).retryAfterS).toBe(1);
    expect(take({ tokens: 0, at: 0 }, { perSecond: 0.25, burst: 1 }, 0).retryAfterS).toBe(4);
    expect(take({ tokens: 0.9, at: 0 }, { perSecond: 1, burst: 1 }, 0).retryAfterS).toBe(1);
    // A refusal takes nothing: the next request after the wait goes.
    const refused = take({ tokens: 0, at: 0 }, budget, 0);
    expect(take(refused.bucket, budget, 500).retryAfterS).toBeUndefined();
  });

  test("refills at the rate, never above the burst", () => {
    expect(take({ tokens: 0, at: 0 }, budget, 1_000).bucket.tokens).toBe(1);
    expect(take({ tokens: 0, at: 0 }, budget, 60_000).bucket.tokens).toBe(3);
  });

  test("a clock that steps back refills nothing", () => {
    expect(take({ tokens: 1, at: 5_000 }, budget, 0).bucket.tokens).toBe(0);
  });
});

describe("the limiter", () => {
  const limits: RateLimits = { reads: { perSecond: 10, burst: 3 }, writes: { perSecond: 1, burst: 2 }, ticks: { perSecond: 0, burst: 0 } };

  test("each identity and each budget has its own bucket; a budget of 0 is off", () => {
    const limiter = new RateLimiter(limits, 100, () => 0);
    expect([1, 2, 3].map(() => limiter.take("key:a", "writes"))).toEqual([undefined, undefined, { retryAfterS: 1 }]);
    expect(limiter.take("key:b", "writes")).toBeUndefined();
    expect(limiter.take("key:a", "reads")).toBeUndefined();
    for (let i = 0; i < 1_000; i++) expect(limiter.take("key:a", "ticks")).toBeUndefined();
    expect(limiter.enabled("ticks")).toBe(false);
  });

  test("holds at most maxIdentities buckets per budget, forgetting the least recently seen", () => {
    const limiter = new RateLimiter(limits, 2, () => 0);
    limiter.take("key:a", "writes");
    limiter.take("key:a", "writes");
    limiter.take("key:b", "writes");
    limiter.take("key:c", "writes"); // a is forgotten: a full bucket again
    expect(limiter.take("key:a", "writes")).toBeUndefined();
  });

  test("which budget a request draws on", () => {
    expect(budgetOf("GET", "/api/v1/orders")).toBe("reads");
    expect(budgetOf("HEAD", "/api/v1/orders")).toBe("reads");
    expect(budgetOf("POST", "/api/v1/orders")).toBe("writes");
    expect(budgetOf("DELETE", "/api/v1/orders/x")).toBe("writes");
    expect(budgetOf("PATCH", "/api/v1/orders/x")).toBe("writes");
    expect(budgetOf("POST", "/api/v1/risk/paper/state")).toBe("writes");
    expect(budgetOf("POST", "/api/v1/ticks")).toBe("ticks");
  });
});

describe("through the API", () => {
  let h: Harness;
  let now = 0;
  beforeAll(async () => {
    h = await harness({ rateLimiter: new RateLimiter({ reads: { perSecond: 5, burst: 3 }, writes: { perSecond: 1, burst: 2 }, ticks: { perSecond: 0, burst: 0 } }, 100, () => now) });
  }, 30_000);
  afterAll(() => h?.close());

  test("past the write budget: 429 in the error shape, Retry-After in whole seconds, naming the limit", async () => {
    expect((await h.call("POST", "/api/v1/orders", { body: order })).status).toBe(202);
    expect((await h.call("POST", "/api/v1/orders", { body: order })).status).toBe(202);
    const refused = await h.call("POST", "/api/v1/orders", { body: order });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.json.error.code).toBe("TOO_MANY_REQUESTS");
    expect(refused.json.error.message).toBe("too many write requests for this API key: the limit is 1 a second, 2 at once; retry after 1 s");
    expect(refused.json.error.details).toEqual({ budget: "writes", per_second: 1, burst: 2, retry_after_s: 1 });
    // The refused order was not placed: only the first two were.
    expect((await h.services.orders.list({ limit: 500 } as never)).orders.length).toBe(2);
    // Reads have their own budget; another key its own bucket.
    expect((await h.call("GET", "/api/v1/orders")).status).toBe(200);
    expect((await h.call("DELETE", "/api/v1/orders/0190d3b4-0000-7000-8000-000000000000", { key: h.readKey })).status).toBe(403);
    // A second later a token is back.
    now += 1_000;
    expect((await h.call("POST", "/api/v1/orders", { body: order })).status).toBe(202);
    expect((await h.call("POST", "/api/v1/orders", { body: order })).status).toBe(429);
  });

  test("requests without a valid key are charged to the client address, before the key check", async () => {
    now += 60_000;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await h.call("GET", "/api/v1/orders", { key: i % 2 === 0 ? null : "ap_not-a-key-anyone-has-000000" })).status);
    expect(answers).toEqual([401, 401, 401, 429, 429]);
    // A valid key is not charged for them.
    expect((await h.call("GET", "/api/v1/orders", { key: h.readKey })).status).toBe(200);
  });

  test("/openapi.json documents 429 with Retry-After on every operation", async () => {
    const doc = (await h.call("GET", "/openapi.json", { key: null })).json;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith("/api/v1/")) continue;
      for (const op of Object.values(ops)) {
        expect(op.responses["429"].headers["Retry-After"]).toBeDefined();
      }
    }
  });
});

describe("WebSocket connects", () => {
  test("are charged as reads before the upgrade: past the budget a 429 in the error shape, and no upgrade", async () => {
    let upgraded = 0;
    const upgrade = async () => {
      upgraded++;
      return undefined;
    };
    const limiter = new RateLimiter({ reads: { perSecond: 1, burst: 2 }, writes: { perSecond: 1, burst: 1 }, ticks: { perSecond: 0, burst: 0 } }, 100, () => 0);
    const keys = { verify: async (key: string) => (key === "ap_good-key-0123456789" ? (["read"] as const).slice() : undefined) };
    const limited = limitUpgrades(upgrade, limiter, keys);
    const server = { requestIP: () => ({ address: "10.0.0.7", family: "IPv4", port: 1 }) };
    const connect = (q: string) => limited(new Request(`http://gw/ws${q}`), server as never);
    expect(await connect("?api_key=ap_good-key-0123456789")).toBeUndefined();
    expect(await connect("?api_key=ap_good-key-0123456789")).toBeUndefined();
    const refused = (await connect("?api_key=ap_good-key-0123456789"))!;
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as any).error).toMatchObject({ code: "TOO_MANY_REQUESTS", details: { budget: "reads" } });
    expect(upgraded).toBe(2);
    // The same key's writes are another budget; a connect without a key is the address's bucket.
    expect(limiter.take("key:ap_good-key-0123456789", "writes")).toBeUndefined();
    expect(await connect("")).toBeUndefined();
    expect(upgraded).toBe(3);
  });
});

describe("configuration", () => {
  test("defaults: reads 100/s (200 at once), writes 20/s (40), ticks 1000/s (2000)", () => {
    expect(loadConfig({}).rateLimits).toEqual({ reads: { perSecond: 100, burst: 200 }, writes: { perSecond: 20, burst: 40 }, ticks: { perSecond: 1_000, burst: 2_000 } });
  });

  test("0 turns a budget off; a burst below 1 with a rate, or a bad number, is named", () => {
    expect(loadConfig({ RATE_LIMIT_WRITES_PER_S: "0", RATE_LIMIT_WRITES_BURST: "0" }).rateLimits.writes).toEqual({ perSecond: 0, burst: 0 });
    expect(() => loadConfig({ RATE_LIMIT_READS_BURST: "0", RATE_LIMIT_WRITES_PER_S: "fast" })).toThrow(
      /RATE_LIMIT_WRITES_PER_S: must be a rate per second \(an integer from 0 to 1000000\), got "fast".*RATE_LIMIT_READS_BURST: must be at least 1 while RATE_LIMIT_READS_PER_S is 100/s,
    );
  });
});
