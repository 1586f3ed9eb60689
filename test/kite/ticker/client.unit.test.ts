/**
 * KiteTicker against the fake Kite server: subscriptions in each mode, reconnect with the same
 * modes after a drop, the watchdog on a silent connection, text messages, a refused token, the
 * instrument limit, and close() meaning stop.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/errors.ts";
import { KiteTicker, type KiteDisconnect, type KiteTickerOptions } from "../../../src/kite/ticker/client.ts";
import { KiteTickerError } from "../../../src/kite/ticker/errors.ts";
import { toMarketTick } from "../../../src/kite/ticker/market.ts";
import type { KiteTick } from "../../../src/kite/ticker/types.ts";
import { FakeKiteServer, until } from "./server.ts";
import * as V from "./vectors.ts";

const INFY = 408065;
const TATAMOTORS = 884737;
const NFO_FUT = 12999938;
const NIFTY_BANK = 260105;
const THREE_KINDS = new Uint8Array([0, 3, 0, 8, ...V.NSE_LTP_PACKET, 0, 44, ...V.NSE_QUOTE_PACKET, 0, 32, ...V.INDEX_FULL_PACKET]);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function server(options?: ConstructorParameters<typeof FakeKiteServer>[0]): FakeKiteServer {
  const s = new FakeKiteServer(options);
  cleanup.push(() => s.stop());
  return s;
}

/** A ticker on the fake server, recording everything its handlers see. */
function ticker(s: FakeKiteServer, options: Partial<KiteTickerOptions> = {}) {
  const seen = { ticks: [] as KiteTick[], orders: [] as Record<string, unknown>[], messages: [] as unknown[], errors: [] as KiteTickerError[], connects: 0, disconnects: [] as KiteDisconnect[] };
  const t = new KiteTicker(
    { apiKey: s.apiKey, accessToken: s.accessToken, url: s.url, initialDelayMs: 20, maxDelayMs: 100, ...options },
    {
      onTicks: (ticks) => void seen.ticks.push(...ticks),
      onOrderUpdate: (order) => void seen.orders.push(order),
      onMessage: (m) => void seen.messages.push(m),
      onError: (e) => void seen.errors.push(e),
      onConnect: () => void seen.connects++,
      onDisconnect: (d) => void seen.disconnects.push(d),
    },
  );
  cleanup.push(() => t.close());
  return { t, seen };
}

const modes = (m: Map<number, string>) => Object.fromEntries([...m].sort(([a], [b]) => a - b));

describe("subscriptions", () => {
  test("each mode is requested and its ticks arrive decoded with the right prices", async () => {
    const s = server();
    const { t, seen } = ticker(s);
    t.subscribe([INFY], "ltp"); // before connecting: sent on open
    await t.connect();
    expect(t.state).toBe("open");
    t.subscribe([TATAMOTORS]); // Kite's default, quote
    t.subscribe([NIFTY_BANK, NFO_FUT], "full");
    await until("the server to hold all four", () => s.subscriptions().size === 4);
    expect(modes(s.subscriptions())).toEqual({ [INFY]: "ltp", [TATAMOTORS]: "quote", [NIFTY_BANK]: "full", [NFO_FUT]: "full" });
    expect(s.requests.map((r) => r.request)).toEqual([
      { a: "subscribe", v: [INFY] },
      { a: "mode", v: ["ltp", [INFY]] },
      { a: "subscribe", v: [TATAMOTORS] },
      { a: "mode", v: ["quote", [TATAMOTORS]] },
      { a: "subscribe", v: [NIFTY_BANK, NFO_FUT] },
      { a: "mode", v: ["full", [NIFTY_BANK, NFO_FUT]] },
    ]);

    s.push(THREE_KINDS);
    s.push(V.NFO_FULL);
    await until("four ticks", () => seen.ticks.length >= 4);
    expect(seen.ticks.map((k) => [k.instrument_token, k.mode, k.last_price])).toEqual([
      [INFY, "ltp", 145025],
      [TATAMOTORS, "quote", 45630],
      [NIFTY_BANK, "full", 4512345],
      [NFO_FUT, "full", 2245050],
    ]);
    expect(toMarketTick(seen.ticks[3]!, new Date())).toMatchObject({ last_price: 2245050, bid: 2245000, ask: 2245100, feed: "kite" });
  });

  test("setMode and unsubscribe are sent, and heartbeats are not ticks", async () => {
    const s = server({ heartbeatMs: 10 });
    const { t, seen } = ticker(s);
    t.subscribe([INFY, TATAMOTORS], "quote");
    await t.connect();
    t.setMode("full", [INFY]);
    t.unsubscribe([TATAMOTORS]);
    await until("the server to apply both", () => s.subscriptions().size === 1 && s.subscriptions().get(INFY) === "full");
    await Bun.sleep(50);
    expect(seen.ticks).toEqual([]);
    expect(() => t.setMode("ltp", [TATAMOTORS])).toThrow(/not subscribed: 884737/);
    expect(t.subscriptions()).toEqual([[INFY, "full"]]);
  });

  test("at most 3000 instruments, refused before anything is sent", async () => {
    const s = server();
    const { t } = ticker(s);
    await t.connect();
    const tokens = Array.from({ length: 3000 }, (_, i) => (i + 1) * 256 + 1);
    t.subscribe(tokens, "ltp");
    let err: unknown;
    try {
      t.subscribe([999_999 * 256 + 1], "ltp");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KiteTickerError);
    expect((err as KiteTickerError).reason).toBe("bad_request");
    expect((err as KiteTickerError).message).toMatch(/3000 already subscribed.*at most 3000/);
    t.subscribe(tokens.slice(0, 10), "full"); // re-moding subscribed tokens adds nothing
    await until("the server to hold 3000", () => s.subscriptions().size === 3000);
    expect(s.requests.filter((r) => r.request.a === "subscribe")).toHaveLength(2);
  });

  test("a lower maxInstruments, and tokens that are not tokens", () => {
    const s = server();
    const { t } = ticker(s, { maxInstruments: 2 });
    t.subscribe([INFY, TATAMOTORS]);
    expect(() => t.subscribe([NFO_FUT])).toThrow(/at most 2/);
    expect(() => t.subscribe([1.5, -3, 0])).toThrow(/positive 32-bit integers, got 1.5, -3, 0/);
    expect(() => t.subscribe([INFY], "depth" as never)).toThrow(/mode must be one of ltp, quote, full/);
    expect(t.subscriptions()).toHaveLength(2);
  });
});

describe("staying connected", () => {
  test("after the server drops the connection, it reconnects and resubscribes in the same modes", async () => {
    const s = server();
    const { t, seen } = ticker(s);
    t.subscribe([INFY], "ltp");
    t.subscribe([TATAMOTORS], "quote");
    t.subscribe([NIFTY_BANK, NFO_FUT], "full");
    t.unsubscribe([NFO_FUT]);
    await t.connect();
    await until("subscriptions on connection 1", () => s.subscriptions(1).size === 3);
    s.push(V.NSE_LTP);
    await until("a tick", () => seen.ticks.length === 1);

    s.drop(); // mid-stream
    await until("a second connection with the subscriptions", () => s.accepted === 2 && s.subscriptions(2).size === 3);
    expect(modes(s.subscriptions(2))).toEqual(modes(s.subscriptions(1)));
    expect(modes(s.subscriptions(2))).toEqual({ [INFY]: "ltp", [TATAMOTORS]: "quote", [NIFTY_BANK]: "full" });
    // One subscribe for all, then one mode request per mode.
    expect(s.requests.filter((r) => r.conn === 2).map((r) => r.request)).toEqual([
      { a: "subscribe", v: [INFY, TATAMOTORS, NIFTY_BANK] },
      { a: "mode", v: ["ltp", [INFY]] },
      { a: "mode", v: ["quote", [TATAMOTORS]] },
      { a: "mode", v: ["full", [NIFTY_BANK]] },
    ]);
    expect(seen.disconnects).toHaveLength(1);
    expect(seen.disconnects[0]).toMatchObject({ wasConnected: true, willReconnect: true, attempt: 1, delayMs: 20 });
    expect(seen.disconnects[0]?.error?.reason).toBe("unavailable");
    expect(seen.errors).toEqual([]); // a retried drop is not an error

    s.push(THREE_KINDS);
    await until("ticks again", () => seen.ticks.length === 4);
    expect(seen.ticks.slice(1).map((k) => k.last_price)).toEqual([145025, 45630, 4512345]);
    expect(seen.connects).toBe(2);
    await until("the attempt count to reset once frames flow", () => t.attempts === 0);
  });

  test("a silent connection (not even heartbeats) is declared dead by the watchdog and replaced", async () => {
    const s = server({ heartbeatMs: 20 });
    const { t, seen } = ticker(s, { watchdogMs: 250 });
    t.subscribe([INFY], "full");
    await t.connect();
    await Bun.sleep(400); // heartbeats keep it alive past the watchdog's limit
    expect(seen.disconnects).toEqual([]);

    s.silent = true;
    await until("the watchdog", () => seen.disconnects.length === 1, 3_000);
    expect(seen.disconnects[0]).toMatchObject({ wasConnected: true, willReconnect: true });
    expect(seen.disconnects[0]?.error?.reason).toBe("stale");
    expect(seen.disconnects[0]?.error?.code).toBe("TIMEOUT");
    s.silent = false;
    await until("a new connection, resubscribed", () => s.accepted >= 2 && s.subscriptions().get(INFY) === "full");
    s.push(V.NSE_LTP);
    await until("ticks again", () => seen.ticks.length === 1);
    expect(t.state).toBe("open");
  });

  test("a handshake that never completes times out and is retried", async () => {
    // A TCP server that accepts and says nothing.
    const mute = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    cleanup.push(() => mute.stop(true));
    const s = server();
    const { t, seen } = ticker(s, { url: `ws://127.0.0.1:${mute.port}`, connectTimeoutMs: 100, maxReconnectAttempts: 1 });
    await expect(t.connect()).rejects.toMatchObject({ reason: "gave_up", canRetry: false });
    expect(seen.disconnects.map((d) => [d.wasConnected, d.willReconnect, d.error?.reason])).toEqual([
      [false, true, "unavailable"],
      [false, false, "unavailable"],
    ]);
    expect(seen.disconnects[0]?.error?.message).toMatch(/did not answer within 100 ms/);
    expect(seen.errors.map((e) => e.reason)).toEqual(["gave_up"]);
    expect(t.state).toBe("closed");
  });

  test("backoff grows, capped, while the server is unreachable; the ticker gives up after maxReconnectAttempts", async () => {
    const s = server();
    const gone = s.url;
    await s.stop();
    const { t, seen } = ticker(s, { url: gone, initialDelayMs: 10, maxDelayMs: 40, maxReconnectAttempts: 4 });
    await expect(t.connect()).rejects.toMatchObject({ reason: "gave_up", code: "LOG_UNAVAILABLE" });
    expect(seen.disconnects.map((d) => d.delayMs)).toEqual([10, 20, 40, 40, undefined]);
    expect(seen.disconnects[0]?.error?.message).toMatch(/could not connect/);
    for (const d of seen.disconnects) expect(d.error?.message).not.toContain(s.accessToken); // Bun's message quotes the URL
    expect(seen.connects).toBe(0);
  });

  test("close() stops for good: no reconnect after it", async () => {
    const s = server();
    const { t, seen } = ticker(s);
    await t.connect();
    t.close();
    expect(t.state).toBe("closed");
    await until("the server to see the close", () => s.open === 0);
    await Bun.sleep(100);
    expect(s.accepted).toBe(1);
    expect(seen.disconnects).toEqual([{ wasConnected: true, code: 1000, reason: "closed by the client", willReconnect: false, attempt: 0 }]);
    await expect(t.connect()).rejects.toThrow(/closed/);
    expect(() => t.subscribe([INFY])).not.toThrow(); // kept, never sent
  });

  test("close() while waiting to reconnect cancels the attempt", async () => {
    const s = server();
    const { t } = ticker(s, { initialDelayMs: 200, maxDelayMs: 200 });
    await t.connect();
    s.drop();
    await until("waiting", () => t.state === "waiting");
    t.close();
    await Bun.sleep(300);
    expect(s.accepted).toBe(1);
  });

  test("reconnect: false stops at the first drop", async () => {
    const s = server();
    const { t, seen } = ticker(s, { reconnect: false });
    await t.connect();
    s.drop();
    await until("closed", () => t.state === "closed");
    expect(seen.errors.map((e) => e.reason)).toEqual(["unavailable"]);
    await Bun.sleep(100);
    expect(s.accepted).toBe(1);
  });
});

describe("text messages and bad frames", () => {
  test("an order postback reaches onOrderUpdate; alerts reach onMessage; Kite's errors reach onError", async () => {
    const s = server();
    const { t, seen } = ticker(s);
    await t.connect();
    const order = { order_id: "151220000000000", status: "COMPLETE", tradingsymbol: "INFY", average_price: 1450.25, filled_quantity: 1 };
    s.pushText({ type: "order", data: order });
    s.pushText({ type: "message", data: "Market closes at 3:30" });
    s.pushText({ type: "error", data: "Invalid mode" });
    await until("three messages", () => seen.orders.length + seen.messages.length + seen.errors.length === 3);
    expect(seen.orders).toEqual([order]);
    expect(seen.messages).toEqual([{ type: "message", data: "Market closes at 3:30" }]);
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]).toMatchObject({ reason: "server_error", code: "PAYLOAD_INVALID", details: "Invalid mode" });
    expect(seen.errors[0]?.message).toContain("Invalid mode");
  });

  test("a malformed frame or a text that is not JSON is reported, and the stream goes on", async () => {
    const s = server();
    const { t, seen } = ticker(s);
    await t.connect();
    s.push(new Uint8Array([0, 1, 0, 44, ...V.NSE_LTP_PACKET]));
    s.pushText("not json");
    s.push(V.NSE_LTP);
    await until("the good tick", () => seen.ticks.length === 1);
    expect(seen.errors.map((e) => [e.reason, e.code])).toEqual([
      ["bad_message", "PAYLOAD_INVALID"],
      ["bad_message", "PAYLOAD_INVALID"],
    ]);
    expect(seen.errors[0]?.message).toMatch(/offset 4/);
    expect(seen.disconnects).toEqual([]);
  });

  test("a handler that throws is reported and does not break the connection", async () => {
    const s = server();
    const { t, seen } = ticker(s);
    let calls = 0;
    t.handlers.onTicks = () => {
      calls += 1;
      throw new Error("boom");
    };
    await t.connect();
    s.push(V.NSE_LTP);
    s.push(V.NSE_LTP);
    await until("both frames", () => calls === 2);
    expect(seen.errors.map((e) => [e.reason, e.code])).toEqual([
      ["handler", "INTERNAL"],
      ["handler", "INTERNAL"],
    ]);
    expect(t.state).toBe("open");
  });
});

describe("the access token", () => {
  test("a bad token fails clearly: token_rejected, no retry, the token not in the message", async () => {
    const s = server();
    const { t, seen } = ticker(s, { accessToken: "expired_secret_token" });
    let err: unknown;
    try {
      await t.connect();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KiteTickerError);
    const e = err as KiteTickerError;
    expect(e.reason).toBe("token_rejected");
    expect(e.code).toBe("LOG_FORBIDDEN");
    expect(e.canRetry).toBe(false);
    expect(e.message).toMatch(/HTTP 403.*access token is invalid or expired/);
    expect(e.message).not.toContain("expired_secret_token");
    expect(seen.errors).toEqual([e]);
    expect(t.state).toBe("closed");
    await Bun.sleep(100);
    expect(s.refused).toBe(1);
  });

  test("with retryOnTokenRejected it keeps trying, with backoff, until the token is good", async () => {
    const s = server({ accessToken: "tomorrows_token" });
    const { t, seen } = ticker(s, { accessToken: "todays_token", retryOnTokenRejected: true, initialDelayMs: 10, maxDelayMs: 20 });
    t.subscribe([INFY], "ltp");
    const connected = t.connect();
    await until("three refusals", () => s.refused >= 3);
    expect(seen.errors.every((e) => e.reason === "token_rejected")).toBe(true);
    s.accessToken = "todays_token";
    await connected;
    await until("resubscribed", () => s.subscriptions().get(INFY) === "ltp");
  });
});

describe("options", () => {
  test("validated once, every problem named", () => {
    let err: unknown;
    try {
      new KiteTicker({ apiKey: "", accessToken: "", url: "https://kite", watchdogMs: 0, maxInstruments: 5000, backoffFactor: 0.5 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.path)).toEqual([
      "kite.ticker.apiKey",
      "kite.ticker.accessToken",
      "kite.ticker.url",
      "kite.ticker.watchdogMs",
      "kite.ticker.backoffFactor",
      "kite.ticker.maxInstruments",
    ]);
  });

  test("defaults: Kite's endpoint and a 5 s watchdog", () => {
    expect(() => new KiteTicker({ apiKey: "k", accessToken: "t" })).not.toThrow();
  });
});
