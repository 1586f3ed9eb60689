/**
 * Hostile input (issue 30, point 8): each gets a 4xx in the error shape naming what was wrong,
 * with the work spent on it bounded: JSON nested 100,000 deep in any field, NUL in a path, a
 * query or a body, a tick time the event schema would refuse, unknown methods on known paths,
 * /ready's details without a key, and a nested WebSocket message.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { MAX_JSON_DEPTH, parseBounded, tooDeep } from "../../gateway/api/json.ts";
import { errorResponse } from "../../gateway/api/schemas.ts";
import { createWsHandlers, type WsData } from "../../gateway/api/ws.ts";
import { Hono } from "hono";
import { mountPostbacks } from "../../gateway/kite.ts";
import { tickSchema } from "../../src/events/payloads.ts";
import { harness, silent, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

/** 100,000 nested arrays: 200,000 bytes. */
const DEEP = "[".repeat(100_000) + "]".repeat(100_000);

/** `json` with `"@@"` replaced by the deep value. */
const withDeep = (json: unknown) => JSON.stringify(json).replace('"@@"', DEEP);

function expectRefused(r: { status: number; json: any }, status: number, code: string, path: string): void {
  expect(r.status).toBe(status);
  const e = errorResponse.parse(r.json).error;
  expect(e.code).toBe(code);
  expect((e.details as { path: string }[]).map((p) => p.path)).toContain(path);
  // The rejected input is never echoed: the whole answer stays small.
  expect(JSON.stringify(r.json).length).toBeLessThan(400);
}

const order = { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET" };

describe("deeply nested JSON is refused before it is parsed, naming the field", () => {
  const cases: Array<[string, string, unknown, string]> = [
    ["POST", "/api/v1/orders", { ...order, side: "@@" }, "side"],
    ["POST", "/api/v1/orders", { ...order, product: "@@" }, "product"],
    ["POST", "/api/v1/orders", { ...order, order_type: "LIMIT", price: "@@" }, "price"],
    ["POST", "/api/v1/risk/paper/state", { state: "@@" }, "state"],
    ["POST", "/api/v1/risk/paper/state", { state: "HALTED", reason: "@@" }, "reason"],
    ["PUT", "/api/v1/risk/paper/limits", { max_order_quantity: "@@" }, "max_order_quantity"],
    ["PUT", "/api/v1/risk/paper/limits", { price_band_fraction: "@@" }, "price_band_fraction"],
    ["POST", "/api/v1/strategies", { id: "deep", kind: "momentum", params: "@@" }, "params"],
    ["POST", "/api/v1/strategies", { id: "deep", kind: "momentum", params: { lookback: "@@" } }, "params.lookback"],
    ["PATCH", "/api/v1/strategies/momentum_1", { params: { x: "@@" } }, "params.x"],
    ["POST", "/api/v1/ticks", { ticks: [{ instrument_token: 738561, last_price: "@@" }] }, "ticks.0.last_price"],
    ["POST", "/api/v1/ticks", { ticks: [{ instrument_token: 738561, last_price: "2451.35", exchange_ts: "@@" }] }, "ticks.0.exchange_ts"],
  ];
  for (const [method, path, body, field] of cases) {
    test(`${method} ${path}: ${field}`, async () => {
      const r = await h.call(method, path, { raw: withDeep(body) });
      expectRefused(r, 422, "VALIDATION_FAILED", field);
      expect(r.json.error.message).toContain(`more than ${MAX_JSON_DEPTH} levels deep`);
    });
  }

  test("the body itself nested deep, and objects nested deep", async () => {
    expectRefused(await h.call("POST", "/api/v1/orders", { raw: DEEP }), 422, "VALIDATION_FAILED", "body");
    const objects = '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000);
    const r = await h.call("POST", "/api/v1/strategies", { raw: objects });
    expect(r.status).toBe(422);
    expect(r.json.error.details[0].path).toStartWith("a.a.a");
  });

  test("nesting up to the bound is parsed as usual; brackets inside strings do not count", async () => {
    const params = JSON.parse("[".repeat(MAX_JSON_DEPTH - 2) + "]".repeat(MAX_JSON_DEPTH - 2));
    // 30 levels deep: parsed, and refused by the schema (an unknown field), not by the bound.
    const r = await h.call("POST", "/api/v1/strategies", { body: { id: "nested_ok", kind: "momentum", params: { lookback: 5, threshold_bps: 10, quantity: 1 }, x: params } });
    expect(r.status).toBe(422);
    expect(r.json.error.details).toEqual([{ path: "x", message: "x: is not a known field" }]);
    expect(tooDeep(JSON.stringify({ s: "[".repeat(1000) + '\\"{{{' }), 2)).toBeUndefined();
    expect(tooDeep('{"a":[1,[2,[3]]]}', 3)).toEqual(["a", 1, 1]);
  });

  test("a rejected value is never stringified into the message", async () => {
    const r = await h.call("POST", "/api/v1/orders", { body: { ...order, side: ["x".repeat(100_000)] } });
    expectRefused(r, 422, "VALIDATION_FAILED", "side");
    expect(r.json.error.message).toContain("got an array");
    const long = await h.call("POST", "/api/v1/orders", { body: { ...order, side: "S".repeat(100_000) } });
    expectRefused(long, 422, "VALIDATION_FAILED", "side");
  });

  test("50,000 unknown fields: the first few named, the rest counted", async () => {
    const body: Record<string, number> = { ...order } as never;
    for (let i = 0; i < 50_000; i++) body[`k${i}`] = 1;
    const r = await h.call("POST", "/api/v1/orders", { body });
    expect(r.status).toBe(422);
    expect(r.json.error.details.length).toBe(21);
    expect(r.json.error.details[20].message).toContain("49980 more problems");
  });
});

describe("NUL characters never reach the store", () => {
  test("in a path parameter", async () => {
    expectRefused(await h.call("GET", "/api/v1/orders/%00"), 422, "VALIDATION_FAILED", "id");
    expectRefused(await h.call("DELETE", "/api/v1/orders/ab%00cd"), 422, "VALIDATION_FAILED", "id");
    expectRefused(await h.call("PATCH", "/api/v1/strategies/%00", { body: { enabled: false } }), 422, "VALIDATION_FAILED", "id");
    expectRefused(await h.call("GET", "/api/v1/risk/%00/limits"), 422, "VALIDATION_FAILED", "broker");
  });

  test("in a query string, value or name", async () => {
    expectRefused(await h.call("GET", "/api/v1/orders?strategy_id=%00"), 422, "VALIDATION_FAILED", "strategy_id");
    expectRefused(await h.call("GET", "/api/v1/orders?cursor=x%00"), 422, "VALIDATION_FAILED", "cursor");
    expectRefused(await h.call("GET", "/api/v1/trades?a%00b=1"), 422, "VALIDATION_FAILED", "a%00b");
    // %2500 is the text "%00", not a NUL.
    expect((await h.call("GET", "/api/v1/orders?strategy_id=%2500")).status).toBe(200);
  });

  test("in any string of a body, values and keys", async () => {
    expectRefused(await h.call("POST", "/api/v1/risk/paper/state", { body: { state: "HALTED", reason: "a\u0000b" } }), 422, "VALIDATION_FAILED", "reason");
    expectRefused(await h.call("POST", "/api/v1/orders", { body: { ...order, client_order_id: "\u0000" } }), 422, "VALIDATION_FAILED", "client_order_id");
    expectRefused(await h.call("POST", "/api/v1/strategies", { body: { id: "s", kind: "momentum", params: { n: ["ok", "\u0000"] } } }), 422, "VALIDATION_FAILED", "params.n.1");
    expectRefused(await h.call("POST", "/api/v1/strategies", { body: { id: "s", kind: "momentum", params: { "k\u0000": 1 } } }), 422, "VALIDATION_FAILED", "params.k\\u0000");
    // An escaped backslash followed by u0000 is the text \u0000, which is allowed.
    const r = await h.call("POST", "/api/v1/risk/paper/state", { raw: '{"state":"ACTIVE","reason":"\\\\u0000"}' });
    expect(r.status).toBe(200);
  });
});

describe("tick times: only what the event schema takes", () => {
  const tick = (exchange_ts: string) => ({ ticks: [{ instrument_token: 738561, last_price: "2451.35", exchange_ts }] });

  test("a time that leaves years 0000-9999 once in UTC is a 422 naming it", async () => {
    for (const ts of ["9999-12-31T23:59:59-23:59", "9999-12-31T23:00:00-01:00", "0000-01-01T00:00:00+00:01"]) {
      const r = await h.call("POST", "/api/v1/ticks", { body: tick(ts) });
      expectRefused(r, 422, "VALIDATION_FAILED", "ticks.0.exchange_ts");
    }
  });

  test("every time the API takes, the event schema takes", async () => {
    const edges = [
      "9999-12-31T23:59:59Z",
      "9999-12-31T23:59:59.999999Z",
      "9999-12-31T00:00:00+23:59",
      "0000-01-01T00:00:00Z",
      "0000-01-01T23:59:59-23:59",
      "2024-02-29T12:00:00+05:30",
      "2025-01-02T09:15:00.123Z",
    ];
    for (const ts of edges) {
      h.services.published.length = 0;
      const r = await h.call("POST", "/api/v1/ticks", { body: tick(ts) });
      expect(r.status).toBe(202);
      const [published] = h.services.published;
      expect(tickSchema.safeParse(published![0]).success).toBe(true);
    }
  });
});

describe("unknown methods on known paths are a 405 with Allow", () => {
  for (const [method, path] of [
    ["TRACE", "/health"],
    ["POST", "/health"],
    ["DELETE", "/ready"],
    ["PUT", "/metrics"],
    ["POST", "/openapi.json"],
  ] as const) {
    test(`${method} ${path}`, async () => {
      const r = await h.call(method, path);
      expect(r.status).toBe(405);
      expect(r.json.error.code).toBe("METHOD_NOT_ALLOWED");
      expect(r.headers.get("allow")).toBe("GET, HEAD");
    });
  }

  test("TRACE and PATCH on API paths too", async () => {
    const r = await h.call("TRACE", "/api/v1/orders");
    expect(r.status).toBe(405);
    // DELETE /orders is the cancel-all.
    expect(r.headers.get("allow")).toBe("POST, GET, DELETE");
  });
});

describe("/ready: details only for a key holder", () => {
  test("without a key: ready or not, nothing else", async () => {
    const r = await h.call("GET", "/ready", { key: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ready" });
  });

  test("with a read key: every check, the store's among them", async () => {
    const r = await h.call("GET", "/ready", { key: h.readKey });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe("ready");
    expect(r.json.checks.map((c: { name: string }) => c.name)).toContain("store");
    // The process's memory beside the checks: its resident set and the main thread's heap.
    expect(r.json.memory.rss_mb).toBeGreaterThan(r.json.memory.main.heap_mb);
    expect(r.json.memory.main.heap_mb).toBeGreaterThan(0);
  });

  test("with an unknown key: 401, and no details", async () => {
    const r = await h.call("GET", "/ready", { key: "ap_not_a_key_at_all_0000" });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("UNAUTHORIZED");
    expect(JSON.stringify(r.json)).not.toContain("checks");
  });
});

describe("Kite postbacks (public: the checksum is the proof, so the body is bounded first)", () => {
  test("nested deep: 400 before it is parsed; over 64 KiB: 413", async () => {
    const app = new Hono();
    let applied = 0;
    mountPostbacks(app, "secret", { apply: async () => ++applied } as never, silent);
    const post = (body: string) => app.request("/api/v1/kite/postback", { method: "POST", headers: { "content-type": "application/json" }, body });
    const deep = await post(`{"order_id":"1","data":${DEEP.slice(0, 30_000)}${DEEP.slice(-30_000)}}`);
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as any).error.code).toBe("BAD_POSTBACK");
    expect((await post(JSON.stringify({ order_id: "1", pad: "x".repeat(70_000) }))).status).toBe(413);
    expect((await post(JSON.stringify({ order_id: "1", order_timestamp: "2025-01-02 09:15:00", checksum: "00" }))).status).toBe(401);
    expect(applied).toBe(0);
  });
});

describe("parseBounded", () => {
  test("syntax errors are told apart from bounds", () => {
    const bad = parseBounded('{"a":');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.syntax).toBe(true);
    const deep = parseBounded(DEEP, { root: "message" });
    expect(!deep.ok && deep.problems[0]!.path).toBe("message");
  });
});

describe("the WebSocket", () => {
  let server: Server<WsData>;
  let close: () => void;
  beforeAll(() => {
    const hub = createWsHandlers({ services: h.services, auth: h.keys, logger: silent });
    server = Bun.serve<WsData>({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => (hub.isUpgrade(req) ? hub.upgrade(req, srv) : h.app.fetch(req, srv)),
      websocket: hub.websocket,
    });
    close = () => hub.close();
  });
  afterAll(async () => {
    close();
    await server.stop(true);
  });

  test("a 64 KiB nested message from a read key: a clear error frame, and the socket stays usable", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: { authorization: `Bearer ${h.readKey}` } } as unknown as string[]);
    const frames: any[] = [];
    let waiting: (() => void) | undefined;
    ws.onmessage = (e) => {
      frames.push(JSON.parse(String(e.data)));
      waiting?.();
    };
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket refused"));
    });
    const next = () => new Promise<any>((resolve) => (waiting = () => resolve(frames.shift())));
    const half = 32 * 1024 - 40;
    const nested = `{"action":"subscribe","channels":${"[".repeat(half)}${"]".repeat(half)}}`;
    expect(nested.length).toBeLessThanOrEqual(64 * 1024);
    let reply = next();
    ws.send(nested);
    const err = await reply;
    expect(err.type).toBe("error");
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.details[0].path).toBe("channels");
    expect(JSON.stringify(err).length).toBeLessThan(400);
    reply = next();
    ws.send(JSON.stringify({ action: "ping" }));
    expect((await reply).type).toBe("pong");
    ws.close();
  });
});
