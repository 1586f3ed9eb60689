/**
 * GET /market/calendar and POST /orders with amo over the fake services: the year's sessions and
 * named holidays, "now" with the next open, the defaults, and 422s naming the query field.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { calendarResponse, errorResponse } from "../../gateway/api/schemas.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

describe("GET /market/calendar", () => {
  test("a year of NSE: sessions and pre-open in IST, weekends, the holidays by name, and now with the next open", async () => {
    const r = await h.call("GET", "/api/v1/market/calendar?exchange=NSE&year=2026", { key: h.readKey });
    expect(r.status).toBe(200);
    const cal = calendarResponse.parse(r.json);
    expect(cal).toMatchObject({ exchange: "NSE", year: 2026, session: { open: "09:15", close: "15:30" }, pre_open: { open: "09:00", close: "09:08" }, weekends: ["Saturday", "Sunday"], holidays_listed: true, hours_enforced: false });
    expect(cal.holidays).toContainEqual({ date: "2026-01-26", weekday: "Monday", name: "Republic Day" });
    expect(cal.holidays).toHaveLength(16);
    // Now, by the wall clock: whatever the phase, the next open is a 09:15 IST after it.
    expect(Date.parse(cal.now.next_open.at)).toBeGreaterThan(Date.parse(cal.now.at));
    expect(cal.now.next_open.ist).toMatch(/^\w{3} \d{1,2} \w{3} \d{4} 09:15 IST$/);
    expect(cal.now.phase === "open").toBe(cal.now.closes !== undefined);
  });

  test("defaults: NSE and the current IST year; the exchange is case-insensitive; derivatives have no pre-open; MARKET_HOURS shows", async () => {
    h.services.marketHours.mode = "nse";
    try {
      const r = await h.call("GET", "/api/v1/market/calendar", { key: h.readKey });
      const cal = calendarResponse.parse(r.json);
      expect(cal.exchange).toBe("NSE");
      expect(cal.year).toBe(Number(new Date(Date.now() + 330 * 60_000).toISOString().slice(0, 4)));
      expect(cal.hours_enforced).toBe(true);
      const nfo = calendarResponse.parse((await h.call("GET", "/api/v1/market/calendar?exchange=nfo&year=2027", { key: h.readKey })).json);
      expect(nfo).toMatchObject({ exchange: "NFO", year: 2027, pre_open: null, holidays_listed: false, holidays: [] });
      expect(nfo.notes).toContain("had not published its 2027 trading holidays");
    } finally {
      h.services.marketHours.mode = "off";
    }
  });

  test("an exchange without a calendar or a malformed year is a 422 naming the field; no key is a 401", async () => {
    const mcx = await h.call("GET", "/api/v1/market/calendar?exchange=MCX", { key: h.readKey });
    expect(mcx.status).toBe(422);
    expect(errorResponse.parse(mcx.json).error.message).toContain("exchange: must be an exchange with a calendar: NSE, BSE, NFO, BFO");
    const year = await h.call("GET", "/api/v1/market/calendar?year=26", { key: h.readKey });
    expect(year.status).toBe(422);
    expect(year.json.error.message).toContain("year");
    expect((await h.call("GET", "/api/v1/market/calendar?exchange=N-S-E", { key: h.readKey })).status).toBe(422);
    expect((await h.call("GET", "/api/v1/market/calendar?when=now", { key: h.readKey })).status).toBe(422);
    expect((await h.call("GET", "/api/v1/market/calendar", { key: null })).status).toBe(401);
  });

  test("it is in the OpenAPI document with its query and response", async () => {
    const doc = (await h.call("GET", "/openapi.json", { key: null })).json;
    const op = doc.paths["/api/v1/market/calendar"].get;
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(["exchange", "year"]);
    expect(op.responses["200"].content["application/json"].schema).toBeDefined();
    expect(doc.paths["/api/v1/orders"].post.requestBody.content["application/json"].schema.properties.amo.type).toBe("boolean");
  });
});

describe("POST /orders with amo", () => {
  test("amo: true reaches the order placed; amo must be a boolean", async () => {
    const before = h.services.placeCommands.length;
    const r = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "LIMIT", price: "2451.35", amo: true } });
    expect(r.status).toBe(202);
    expect(h.services.placeCommands.slice(before)).toMatchObject([{ amo: true }]);
    const plain = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET" } });
    expect(plain.status).toBe(202);
    expect(h.services.placeCommands.at(-1)!.amo).toBeUndefined();
    const bad = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", amo: "yes" } });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details.map((d: { path: string }) => d.path)).toEqual(["amo"]);
  });
});
