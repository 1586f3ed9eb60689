/**
 * The error classes, each with the one error shape: 400 bad JSON, 401 (no key, bad key, revoked
 * key), 403 read key on a mutating route, 404/405 routes, 413, 415, 503 + Retry-After when a
 * dependency is down, 500 without internals for a bug.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { errorResponse } from "../../gateway/api/schemas.ts";
import { AlphaError } from "../../src/errors.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

const order = { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET" };

function expectError(r: { status: number; json: any }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(errorResponse.parse(r.json).error.code).toBe(code);
}

describe("request errors", () => {
  test("malformed JSON is a 400 BAD_JSON", async () => {
    expectError(await h.call("POST", "/api/v1/orders", { raw: '{"broker": "paper",' }), 400, "BAD_JSON");
    expectError(await h.call("POST", "/api/v1/orders", { raw: "" }), 400, "BAD_JSON");
  });

  test("a body that is not JSON is a 415, one over 1 MiB a 413", async () => {
    expectError(await h.call("POST", "/api/v1/orders", { raw: "broker=paper", headers: { "content-type": "application/x-www-form-urlencoded" } }), 415, "UNSUPPORTED_MEDIA_TYPE");
    expectError(await h.call("POST", "/api/v1/orders", { raw: JSON.stringify(order), headers: { "content-type": "" } }), 415, "UNSUPPORTED_MEDIA_TYPE");
    const big = JSON.stringify({ ticks: [{ instrument_token: 738561, last_price: "1.00", pad: "x".repeat(1024 * 1024) }] });
    expectError(await h.call("POST", "/api/v1/ticks", { raw: big }), 413, "PAYLOAD_TOO_LARGE");
  });

  test("a body streamed without Content-Length is cut at the limit too", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent++ < 40) ctl.enqueue(chunk);
        else ctl.close();
      },
    });
    const res = await h.app.request("/api/v1/ticks", {
      method: "POST",
      headers: { authorization: `Bearer ${h.tradeKey}`, "content-type": "application/json", "transfer-encoding": "chunked" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  test("unknown routes are 404 and wrong methods 405 with Allow, in the error shape", async () => {
    expectError(await h.call("GET", "/api/v1/nope"), 404, "NOT_FOUND");
    expectError(await h.call("GET", "/nope"), 404, "NOT_FOUND");
    const r = await h.call("PUT", "/api/v1/orders/abc");
    expectError(r, 405, "METHOD_NOT_ALLOWED");
    expect(r.headers.get("allow")).toBe("GET, DELETE, PATCH");
  });
});

describe("auth", () => {
  test("no key: 401 with WWW-Authenticate: Bearer", async () => {
    const r = await h.call("GET", "/api/v1/orders", { key: null });
    expectError(r, 401, "UNAUTHORIZED");
    expect(r.headers.get("www-authenticate")).toStartWith("Bearer");
    const basic = await h.call("GET", "/api/v1/orders", { key: null, headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expectError(basic, 401, "UNAUTHORIZED");
  });

  test("an unknown key: 401 invalid_token", async () => {
    const r = await h.call("GET", "/api/v1/orders", { key: "ap_notARealKeyAtAllButLongEnough" });
    expectError(r, 401, "UNAUTHORIZED");
    expect(r.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("a read key may GET but not POST, PUT, PATCH or DELETE (403)", async () => {
    expect((await h.call("GET", "/api/v1/orders", { key: h.readKey })).status).toBe(200);
    const r = await h.call("POST", "/api/v1/orders", { key: h.readKey, body: order });
    expectError(r, 403, "FORBIDDEN");
    expect(r.json.error.message).toContain("trade scope");
    expectError(await h.call("PUT", "/api/v1/risk/paper/limits", { key: h.readKey, body: { max_order_quantity: 1 } }), 403, "FORBIDDEN");
    expectError(await h.call("DELETE", "/api/v1/orders/x", { key: h.readKey }), 403, "FORBIDDEN");
    expectError(await h.call("POST", "/api/v1/ticks", { key: h.readKey, body: { ticks: [] } }), 403, "FORBIDDEN");
  });

  test("auth comes before the body: a bad body without a key is a 401, not a 400", async () => {
    expectError(await h.call("POST", "/api/v1/orders", { key: null, raw: "{" }), 401, "UNAUTHORIZED");
  });

  test("a revoked key stops working at once", async () => {
    const { id, key } = await h.keys.create(["trade"], "short-lived");
    expect((await h.call("GET", "/api/v1/orders", { key })).status).toBe(200);
    expect(await h.keys.revoke(id)).toBe(true);
    expectError(await h.call("GET", "/api/v1/orders", { key }), 401, "UNAUTHORIZED");
  });

  test("/health, /ready and /openapi.json need no key", async () => {
    expect((await h.call("GET", "/health", { key: null })).status).toBe(200);
    expect((await h.call("GET", "/openapi.json", { key: null })).status).toBe(200);
    expect([200, 503]).toContain((await h.call("GET", "/ready", { key: null })).status);
  });
});

describe("dependency errors", () => {
  test.each([
    ["STORE_UNAVAILABLE", "5"],
    ["CACHE_UNAVAILABLE", "5"],
    ["LOG_UNAVAILABLE", "5"],
    ["LOG_FULL", "1"],
  ] as const)("%s from the services is a 503 with Retry-After", async (code, after) => {
    h.services.failure = new AlphaError(code, `${code.toLowerCase()}: down for the test`, { canRetry: true });
    try {
      for (const [m, p, body] of [["POST", "/api/v1/orders", order], ["GET", "/api/v1/portfolios/paper", undefined], ["GET", "/api/v1/orders", undefined]] as const) {
        const r = await h.call(m, p, { body });
        expectError(r, 503, code);
        expect(r.headers.get("retry-after")).toBe(after);
      }
    } finally {
      h.services.failure = undefined;
    }
  });

  test("the key store down is a 503 too, not a 401", async () => {
    const verify = h.keys.verify.bind(h.keys);
    h.keys.verify = async () => {
      throw new AlphaError("STORE_UNAVAILABLE", "database unavailable", { canRetry: true });
    };
    try {
      const r = await h.call("GET", "/api/v1/orders");
      expectError(r, 503, "STORE_UNAVAILABLE");
      expect(r.headers.get("retry-after")).toBe("5");
    } finally {
      h.keys.verify = verify;
    }
  });

  test("a bug is a 500 INTERNAL that does not leak its message", async () => {
    h.services.failure = new TypeError("cannot read properties of undefined (reading 'secret_thing')");
    try {
      const r = await h.call("GET", "/api/v1/strategies");
      expectError(r, 500, "INTERNAL");
      expect(r.json.error.message).not.toContain("secret_thing");
    } finally {
      h.services.failure = undefined;
    }
  });
});
