/**
 * Every way Kite says no, mapped to one KiteError kind; what is retried and what is not; and the
 * one thing a retry must never do: place an order twice.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { KiteClient } from "../../../src/kite/rest/client.ts";
import { KiteClient as Client } from "../../../src/kite/rest/client.ts";
import { ConfigError } from "../../../src/errors.ts";
import { KiteError } from "../../../src/kite/rest/errors.ts";
import { kiteTag } from "../../../src/kite/rest/params.ts";
import { FAILURES, type FakeKite } from "../server/kite-server.ts";
import { kiteWithClient, limitBuy } from "./support.ts";

let fake: FakeKite;
let client: KiteClient;
beforeEach(async () => {
  ({ fake, client } = await kiteWithClient({ timeoutMs: 300 }));
});
afterEach(() => fake.stop());

async function failure(p: Promise<unknown>): Promise<KiteError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KiteError);
    return err as KiteError;
  }
  throw new Error("expected a KiteError, got success");
}

describe("Kite's refusals: rejected with Kite's message, never retried", () => {
  const cases = [
    ["InputException", FAILURES.input("Invalid `price`.")],
    ["OrderException", FAILURES.order("Order cannot be modified as it is being processed. Try later.")],
    ["MarginException", FAILURES.margin("Insufficient funds. Required margin is 95417.84 but available margin is 74251.80.")],
    ["HoldingException", FAILURES.holding("Insufficient stock holding or there are pending sell orders for this stock.")],
  ] as const;
  for (const [type, f] of cases) {
    test(type, async () => {
      fake.failNext(1, f);
      const e = await failure(client.placeOrder("regular", limitBuy));
      expect(e).toMatchObject({ kind: "rejected", canRetry: false, message: f.message, details: { errorType: type, status: 400 } });
      expect(fake.orderRequests()).toHaveLength(1);
      expect(fake.book.orders.size).toBe(0);
    });
  }

  test("parameters that cannot be right are refused before a request is spent", async () => {
    const e = await failure(client.placeOrder("regular", { ...limitBuy, price: undefined }));
    expect(e.kind).toBe("rejected");
    expect(e.message).toContain("price: required for LIMIT orders");
    expect(await failure(client.placeOrder("regular", { ...limitBuy, price: 1450.5 }))).toMatchObject({ kind: "rejected" });
    expect(await failure(client.placeOrder("bracket" as "regular", limitBuy))).toMatchObject({ kind: "rejected" });
    expect(await failure(client.modifyOrder("regular", "1", {}))).toMatchObject({ kind: "rejected" });
    expect(fake.requests).toHaveLength(0);
  });

  test("a placement RMS rejects later is accepted first, then REJECTED in its history", async () => {
    fake.rejectNextOrders(1, "Insufficient funds. Required margin is 95417.84 but available margin is 74251.80.");
    const id = await client.placeOrder("regular", limitBuy);
    const o = (await client.orderHistory(id)).at(-1)!;
    expect(o).toMatchObject({ status: "REJECTED", status_message: expect.stringContaining("Insufficient funds") });
  });
});

describe("an expired session: a token error saying how to log in, never retried", () => {
  test("TokenException on 403", async () => {
    fake.failNext(1, FAILURES.tokenException);
    const e = await failure(client.orders());
    expect(e).toMatchObject({ kind: "token", canRetry: false, details: { status: 403, errorType: "TokenException" } });
    expect(e.message).toContain("bun run kite:session");
    expect(fake.requests).toHaveLength(1);
  });

  test("an expired access token, on an order and on a read", async () => {
    fake.expireTokens();
    expect(await failure(client.placeOrder("regular", limitBuy))).toMatchObject({ kind: "token", canRetry: false });
    expect(await failure(client.positions())).toMatchObject({ kind: "token" });
    expect(fake.requests).toHaveLength(2);
    expect(fake.book.orders.size).toBe(0);
  });

  test("a 403 without Kite's envelope is a token error too", async () => {
    fake.failNext(1, { status: 403, raw: "Forbidden" });
    expect(await failure(client.margins())).toMatchObject({ kind: "token" });
  });
});

describe("Kite unavailable: retried with backoff, then a retryable network error", () => {
  const transient = [
    ["429", FAILURES.tooManyRequests],
    ["500", FAILURES.serverError],
    ["502 (HTML)", FAILURES.badGateway],
    ["503 NetworkException", FAILURES.networkException],
    ["504 (HTML)", FAILURES.gatewayTimeout],
  ] as const;
  for (const [name, f] of transient) {
    test(`${name} twice, then the read succeeds`, async () => {
      fake.failNext(2, f);
      expect(await client.trades()).toEqual([]);
      expect(fake.requests.map((r) => r.status)).toEqual([f.status, f.status, 200]);
    });
  }

  test("429 twice, then the order is placed, once", async () => {
    fake.failNext(2, FAILURES.tooManyRequests);
    const id = await client.placeOrder("regular", limitBuy);
    expect(fake.orderRequests().map((r) => r.status)).toEqual([429, 429, 200]);
    expect([...fake.book.orders.keys()]).toEqual([id]);
  });

  test("retries spent: kind network, canRetry, attempts counted, Kite's words kept", async () => {
    fake.failNext(10, FAILURES.unavailable);
    const e = await failure(client.holdings());
    expect(e).toMatchObject({ kind: "network", canRetry: true, details: { attempts: 4, status: 503 } });
    expect(e.message).toContain("Service unavailable");
    expect(fake.requests).toHaveLength(4);
  });

  test("no answer within the timeout is retried like a 5xx", async () => {
    fake.failNext(1, { ...FAILURES.gatewayTimeout, delayMs: 1_000 });
    expect(await client.orders()).toEqual([]);
    expect(fake.requests).toHaveLength(2);
  });

  test("nobody listening: network, canRetry", async () => {
    const dead = new Client({ baseUrl: "http://127.0.0.1:1", apiKey: "k", accessToken: "t", retries: 1, backoffMs: 1 });
    const e = await failure(dead.orders());
    expect(e).toMatchObject({ kind: "network", canRetry: true, details: { attempts: 2 } });
    // Refused connections never reached Kite, so even a placement is safely retried.
    expect(await failure(dead.placeOrder("regular", limitBuy))).toMatchObject({ kind: "network", canRetry: true });
  });
});

describe("anything else", () => {
  test("bad client options: one ConfigError listing each problem", () => {
    try {
      new Client({ apiKey: "", accessToken: "", baseUrl: "not a url", retries: -1 });
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.path).sort()).toEqual(["kite.accessToken", "kite.apiKey", "kite.baseUrl", "kite.retries"]);
    }
  });

  test("404 and other Kite errors: general, not retried", async () => {
    fake.failNext(1, FAILURES.notFound);
    expect(await failure(client.orderHistory("nope"))).toMatchObject({ kind: "general", canRetry: false, details: { status: 404 } });
    expect(fake.requests).toHaveLength(1);
  });

  test("the other exceptions and statuses: general, with Kite's words", async () => {
    const others = [
      { status: 400, error_type: "DataException", message: "Couldn't parse the OMS response" },
      { status: 400, error_type: "UserException", message: "Account blocked" },
      { status: 405, error_type: "GeneralException", message: "Request method not allowed" },
      { status: 410, error_type: "GeneralException", message: "Gone" },
    ];
    for (const f of others) {
      fake.failNext(1, f);
      const e = await failure(client.orders());
      expect(e).toMatchObject({ kind: "general", canRetry: false, details: { status: f.status, errorType: f.error_type } });
      expect(e.message).toContain(f.message);
    }
    expect(fake.requests).toHaveLength(others.length);
  });

  test("a DataException on 502 is retried like any 502", async () => {
    fake.failNext(1, FAILURES.dataException);
    expect(await client.trades()).toEqual([]);
    expect(fake.requests.map((r) => r.status)).toEqual([502, 200]);
  });

  test("an unknown order is Kite's InputException", async () => {
    expect(await failure(client.orderTrades("424242"))).toMatchObject({ kind: "rejected", message: "Couldn't find that `order_id`." });
  });

  test("a 200 that is not Kite's envelope: bad_response, not retried", async () => {
    fake.failNext(1, { status: 200, raw: "<html>captive portal</html>" });
    const e = await failure(client.orders());
    expect(e).toMatchObject({ kind: "bad_response", canRetry: false });
    expect(e.message).toContain("captive portal");
  });

  test("an envelope whose data is not the documented shape: bad_response naming the field", async () => {
    fake.margins = { equity: { enabled: "yes", net: 1, available: {}, utilised: {} } };
    const e = await failure(client.margins());
    expect(e.kind).toBe("bad_response");
    expect(e.message).toContain("equity.enabled");
  });
});

describe("never two orders for one", () => {
  const lost = { ...FAILURES.gatewayTimeout, afterApply: true };

  test("a placement whose answer was lost, without a tag: ambiguous, not retried", async () => {
    fake.failNext(1, lost);
    const e = await failure(client.placeOrder("regular", limitBuy));
    expect(e).toMatchObject({ kind: "ambiguous", canRetry: false });
    expect(e.message).toContain("order book");
    expect(fake.orderRequests()).toHaveLength(1);
    expect(fake.book.orders.size).toBe(1);
  });

  test("with a tag: found in the order book, not placed again", async () => {
    fake.failNext(1, lost);
    const tag = kiteTag("order-1");
    const id = await client.placeOrder("regular", { ...limitBuy, tag });
    expect([...fake.book.orders.keys()]).toEqual([id]);
    expect(fake.orderRequests()).toHaveLength(1);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /orders/regular", "GET /orders"]);
  });

  test("with a tag, lost on the way there: not in the book, so placed again, once", async () => {
    fake.failNext(1, FAILURES.gatewayTimeout);
    const id = await client.placeOrder("regular", { ...limitBuy, tag: kiteTag("order-2") });
    expect([...fake.book.orders.keys()]).toEqual([id]);
    expect(fake.orderRequests()).toHaveLength(2);
  });

  test("placed, but no answer within the timeout: found by its tag", async () => {
    fake.failNext(1, { ...FAILURES.gatewayTimeout, afterApply: true, delayMs: 1_000 });
    const id = await client.placeOrder("regular", { ...limitBuy, tag: kiteTag("order-3") });
    expect([...fake.book.orders.keys()]).toEqual([id]);
    expect(fake.orderRequests()).toHaveLength(1);
  });

  test("lost answers until the retries are spent: ambiguous, not network (the caller must not just retry)", async () => {
    fake.failNext(10, FAILURES.gatewayTimeout, { method: "POST" });
    const e = await failure(client.placeOrder("regular", { ...limitBuy, tag: kiteTag("order-4") }));
    expect(e).toMatchObject({ kind: "ambiguous", canRetry: false, details: { attempts: 4 } });
    expect(fake.orderRequests()).toHaveLength(4);
    // Each retry looked for the tag first.
    expect(fake.requests.filter((r) => r.path === "/orders")).toHaveLength(3);
  });

  test("a cancel whose answer was lost: its history says CANCELLED, so it is done", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    fake.failNext(1, lost, { method: "DELETE" });
    expect(await client.cancelOrder("regular", id)).toBe(id);
    expect(fake.book.orders.get(id)!.status).toBe("CANCELLED");
    expect(fake.requests.filter((r) => r.method === "DELETE")).toHaveLength(1);
  });

  test("a modify is retried as is (setting the same values twice is harmless)", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    fake.failNext(1, FAILURES.serverError, { method: "PUT" });
    await client.modifyOrder("regular", id, { price: 145_200 });
    expect(fake.book.orders.get(id)!.price).toBe(145_200);
    expect(fake.requests.filter((r) => r.method === "PUT").map((r) => r.status)).toEqual([500, 200]);
  });
});
