/**
 * The OpenAlgo mapping both ways, Given/When/Then with no infrastructure: our order events as
 * OpenAlgo's messages (the fields its publisher and its Socket.IO events name), OpenAlgo's messages
 * (built from the seed's field list) as orders of the read-only source, and malformed ones refused
 * with a reason that names the field.
 */
import { describe, expect, test } from "bun:test";
import { createEvent, type AnyEnvelope } from "../../src/events/envelope.ts";
import type { EventType, PayloadOf } from "../../src/events/payloads.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { masterContractMessage, receive, toOpenAlgoMessages } from "../../src/openalgo-events/index.ts";

const SBIN = NSE_MASTER.bySymbol("NSE", "SBIN")!;
const ctx = { userId: "user123", instruments: NSE_MASTER };
const TS = "2026-01-29T10:30:45.123Z";

const order = { order_id: "ord-1", signal_id: "sig-1", strategy_id: "manual", instrument_token: SBIN.instrument_token, side: "BUY" as const, quantity: 10, order_type: "LIMIT" as const, price: 85_050, product: "CNC" as const };

function event<T extends EventType>(type: T, data: PayloadOf<T>, broker: "paper" | "zerodha" = "paper"): AnyEnvelope {
  const e = createEvent({ type, source: "test", broker, key: String(SBIN.instrument_token), data });
  return { ...e, ts: TS } as AnyEnvelope;
}

describe("our order events in OpenAlgo's shape", () => {
  test("a zerodha order submitted: one order_event, live, with the seed's fields as strings", () => {
    const submitted = event("order.submitted", order, "zerodha");
    const [m, ...rest] = toOpenAlgoMessages(submitted, ctx);
    expect(rest).toEqual([]);
    expect(m).toEqual({
      event_type: "order_event",
      timestamp: "2026-01-29T10:30:45.123000Z",
      user_id: "user123",
      source: "alpha-panda",
      data: {
        symbol: "SBIN",
        exchange: "NSE",
        action: "BUY",
        orderid: "ord-1",
        quantity: "10",
        price: "850.50",
        trigger_price: "0",
        pricetype: "LIMIT",
        price_type: "LIMIT",
        product: "CNC",
        product_type: "CNC",
        strategy: "manual",
        mode: "live",
        broker: "zerodha",
        order_status: "open",
        status: "OPEN",
        event: "order.submitted",
        event_id: submitted.id,
      },
    });
  });

  test("a paper fill: order_event (complete, with the fill), an order_notification; no analyzer_update for a fill", () => {
    const filled = event("order.filled", { ...order, fill_id: "f1", fill_quantity: 10, fill_price: 85_000, filled_quantity: 10, fees: 1_234, status: "FILLED" });
    const messages = toOpenAlgoMessages(filled, ctx);
    expect(messages.map((m) => m.event_type)).toEqual(["order_event", "order_notification"]);
    expect(messages[0]!.data).toMatchObject({ mode: "analyze", broker: "paper", order_status: "complete", status: "FILLED", fill_quantity: "10", fill_price: "850.00", filled_quantity: "10", pending_quantity: "0", fees: "12.34" });
    expect(messages[1]!.data).toEqual({ symbol: "SBIN", exchange: "NSE", orderid: "ord-1", status: "success", message: "BUY 10 SBIN filled at 850.00", notification_type: "order_filled" });
  });

  test("a paper order submitted and refused by risk: analyzer_update answers each like OpenAlgo's sandbox", () => {
    const placed = toOpenAlgoMessages(event("order.submitted", order), ctx);
    expect(placed.map((m) => m.event_type)).toEqual(["order_event", "analyzer_update"]);
    expect(placed[1]!.data).toEqual({
      request: { symbol: "SBIN", exchange: "NSE", action: "BUY", orderid: "ord-1", quantity: "10", price: "850.50", trigger_price: "0", pricetype: "LIMIT", product: "CNC", strategy: "manual", api_type: "placeorder" },
      response: { mode: "analyze", status: "success", orderid: "ord-1", order_status: "open" },
    });
    const { order_id: _, ...signal } = order;
    const refused = toOpenAlgoMessages(event("signal.rejected", { ...signal, checks: [], reason_code: "MAX_QUANTITY", message: "quantity 10 is over 5" }), ctx);
    expect(refused.map((m) => m.event_type)).toEqual(["order_event", "order_notification", "analyzer_update"]);
    expect(refused[0]!.data).toMatchObject({ orderid: "sig-1", order_status: "rejected", rejection_reason: "quantity 10 is over 5", reason_code: "MAX_QUANTITY" });
    expect(refused[1]!.data).toMatchObject({ status: "error", notification_type: "order_rejected", message: "quantity 10 is over 5" });
    expect(refused[2]!.data).toMatchObject({ response: { mode: "analyze", status: "error", orderid: "sig-1" } });
  });

  test("deterministic: the same event gives the same bytes; a refused cancel publishes nothing", () => {
    const cancelled = event("order.cancelled", { ...order, reason: "user" });
    expect(JSON.stringify(toOpenAlgoMessages(cancelled, ctx))).toBe(JSON.stringify(toOpenAlgoMessages(cancelled, ctx)));
    expect(toOpenAlgoMessages(cancelled, ctx)[0]!.data).toMatchObject({ order_status: "cancelled", status: "CANCELLED" });
    expect(toOpenAlgoMessages(event("order.cancel_rejected", { order_id: "ord-1", reason_code: "NOT_OPEN", message: "not open" }), ctx)).toEqual([]);
  });

  test("an instrument the master does not know cannot be shown: the reason names it", () => {
    expect(() => toOpenAlgoMessages(event("order.submitted", { ...order, instrument_token: 999_999_999 }), ctx)).toThrow(/instrument 999999999 is not in the instrument master/);
  });

  test("master_contract_download as the seed shows it", () => {
    expect(masterContractMessage({ userId: "user123", broker: "paper", symbols: 5000, seconds: 45.2, at: TS })).toEqual({
      event_type: "master_contract_download",
      timestamp: "2026-01-29T10:30:45.123000Z",
      user_id: "user123",
      source: "alpha-panda",
      data: { broker: "paper", status: "success", message: "Master contract downloaded successfully", symbols_count: 5000, download_time_seconds: 45.2 },
    });
  });
});

/** The seed's five messages, as an OpenAlgo instance publishes them. */
const seed = {
  order_event: { event_type: "order_event", timestamp: "2026-01-29T10:30:45.123456Z", user_id: "user123", source: "openalgo", data: { symbol: "SBIN-EQ", action: "BUY", orderid: "ORD123456", mode: "live", broker: "angel", quantity: "1", price: "850.50" } },
  analyzer_update: { event_type: "analyzer_update", timestamp: "2026-01-29T10:30:46.000001Z", user_id: "user123", source: "openalgo", data: { request: { symbol: "RELIANCE-EQ", action: "BUY", quantity: "1", api_type: "placesmartorder" }, response: { mode: "analyze", status: "success", orderid: "SANDBOX_ORD_123" } } },
  order_notification: { event_type: "order_notification", timestamp: "2026-01-29T10:30:47Z", user_id: "user123", source: "openalgo", data: { symbol: "INFY-EQ", status: "info", message: "Positions Already Matched. No Action needed.", notification_type: "position_match" } },
  master_contract_download: { event_type: "master_contract_download", timestamp: "2026-01-29T10:30:48Z", user_id: "admin", source: "openalgo", data: { broker: "angel", status: "success", message: "Master contract downloaded successfully", symbols_count: 5000, download_time_seconds: 45.2 } },
  password_change: { event_type: "password_change", timestamp: "2026-01-29T10:30:49Z", user_id: "user123", source: "openalgo", data: { user: "user123", status: "success", message: "Password changed successfully", ip_address: "10.0.0.1", user_agent: "x" } },
};

describe("OpenAlgo's messages read into the source's orders", () => {
  test("an order_event is an order: OPEN, money in paise, OpenAlgo's fields kept", () => {
    expect(receive(JSON.stringify(seed.order_event))).toEqual({
      ok: true,
      kind: "order_event",
      order: {
        order_id: "ORD123456",
        user_id: "user123",
        symbol: "SBIN-EQ",
        exchange: null,
        side: "BUY",
        quantity: 1,
        price: 85_050,
        trigger_price: null,
        order_type: null,
        product: null,
        status: "OPEN",
        openalgo_status: null,
        mode: "live",
        broker: "angel",
        strategy: null,
        filled_quantity: null,
        average_price: null,
        event_ts: "2026-01-29T10:30:45.123Z",
        event_type: "order_event",
      },
    });
  });

  test("a later order_event with order_status complete fills the same order; numbers as numbers are taken", () => {
    const done = receive(JSON.stringify({ ...seed.order_event, data: { ...seed.order_event.data, order_status: "complete", filled_quantity: 1, average_price: 850.5, price: 850.5 } }));
    expect(done).toMatchObject({ ok: true, order: { order_id: "ORD123456", status: "FILLED", openalgo_status: "complete", filled_quantity: 1, average_price: 85_050, price: 85_050 } });
  });

  test("an analyzer_update is a sandbox order; a refused one (no orderid) shows nothing", () => {
    expect(receive(JSON.stringify(seed.analyzer_update))).toMatchObject({ ok: true, order: { order_id: "SANDBOX_ORD_123", symbol: "RELIANCE-EQ", mode: "analyze", status: "OPEN", quantity: 1 } });
    const refused = { ...seed.analyzer_update, data: { request: seed.analyzer_update.data.request, response: { mode: "analyze", status: "error", message: "Invalid symbol" } } };
    expect(receive(JSON.stringify(refused))).toEqual({ ok: true, kind: "analyzer_update" });
  });

  test("notifications, master contracts and password changes are valid and show no order", () => {
    for (const kind of ["order_notification", "master_contract_download", "password_change"] as const) expect(receive(JSON.stringify(seed[kind]))).toEqual({ ok: true, kind });
  });

  test("malformed: the reason names what is wrong", () => {
    const cases: Array<[unknown, string]> = [
      ["{not json", "not JSON"],
      [[1, 2], "not a JSON object"],
      [{ ...seed.order_event, event_type: "order_placed" }, 'event_type must be one of order_event, analyzer_update, order_notification, master_contract_download, password_change, got "order_placed"'],
      [{ ...seed.order_event, timestamp: "yesterday" }, 'timestamp must be an ISO 8601 time, got "yesterday"'],
      [{ ...seed.order_event, user_id: "" }, 'user_id must be a non-empty string, got ""'],
      [{ ...seed.order_event, data: "x" }, "data must be an object"],
      [{ ...seed.order_event, data: { ...seed.order_event.data, symbol: undefined } }, "data.symbol must be a non-empty string, got undefined"],
      [{ ...seed.order_event, data: { ...seed.order_event.data, action: "HOLD" } }, 'data.action must be BUY or SELL, got "HOLD"'],
      [{ ...seed.order_event, data: { ...seed.order_event.data, orderid: null } }, "data.orderid must be a non-empty string, got null"],
      [{ ...seed.order_event, data: { ...seed.order_event.data, quantity: "1.5" } }, 'data.quantity must be a whole quantity, got "1.5"'],
      [{ ...seed.order_event, data: { ...seed.order_event.data, price: "850.505" } }, 'data.price must be an amount in rupees with at most 2 decimals, got "850.505"'],
      [{ ...seed.analyzer_update, data: { request: seed.analyzer_update.data.request } }, "data.response must be an object"],
    ];
    for (const [msg, reason] of cases) expect(receive(typeof msg === "string" ? msg : JSON.stringify(msg))).toEqual({ ok: false, reason });
  });
});
