/**
 * PATCH /api/v1/orders/:id over the fake services: the order as it would be after the change is
 * checked like a new one (422 naming the field), an unknown order is a 404, a finished one a 409,
 * and an open one answers 202 with the order as it is, the modify sent with the new fields.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { errorResponse, orderResponse } from "../../gateway/api/schemas.ts";
import { NIFTY_FUT } from "./fake-services.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

async function place(body: Record<string, unknown>): Promise<string> {
  const r = await h.call("POST", "/api/v1/orders", { body: { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 10, order_type: "LIMIT", price: "2451.35", ...body } });
  expect(r.status).toBe(202);
  return r.json.order.order_id as string;
}

const patch = (id: string, body: unknown, key?: string) => h.call("PATCH", `/api/v1/orders/${id}`, { body, ...(key ? { key } : {}) });

/** A 422's named fields, each message starting with its field. */
function badFields(r: { status: number; json: any }): string[] {
  expect(r.status).toBe(422);
  expect(errorResponse.parse(r.json).error.code).toBe("VALIDATION_FAILED");
  const details = r.json.error.details as Array<{ path: string; message: string }>;
  for (const d of details) expect(d.message.startsWith(`${d.path}:`)).toBe(true);
  return details.map((d) => d.path).sort();
}

describe("PATCH /orders/:id", () => {
  test("an open order: 202 with the order as it is now, and the modify sent with the whole order after the change", async () => {
    const id = await place({});
    const r = await patch(id, { price: "2452.00", quantity: 5 });
    expect(r.status).toBe(202);
    expect(orderResponse.parse(r.json).order).toMatchObject({ order_id: id, quantity: 10, price: "2451.35", status: "PENDING" });
    expect(r.json.order.events).toBeUndefined();
    expect(h.services.modifies.at(-1)).toEqual({ order_id: id, quantity: 5, order_type: "LIMIT", price: 245_200, changed: ["quantity", "price"] });
  });

  test("a LIMIT made MARKET drops its price; made SL it keeps its price and needs a trigger", async () => {
    const id = await place({});
    expect((await patch(id, { order_type: "MARKET" })).status).toBe(202);
    expect(h.services.modifies.at(-1)).toEqual({ order_id: id, quantity: 10, order_type: "MARKET", changed: ["order_type"] });
    expect(badFields(await patch(id, { order_type: "SL" }))).toEqual(["trigger_price"]);
    expect((await patch(id, { order_type: "SL", trigger_price: "2450.00" })).status).toBe(202);
    expect(h.services.modifies.at(-1)).toMatchObject({ order_type: "SL", price: 245_135, trigger_price: 245_000 });
  });

  test("422 naming each field: nothing to change, a price the type refuses, off the tick grid or the lot, unknown fields, money as a number", async () => {
    const id = await place({});
    const before = h.services.modifies.length;
    const empty = await patch(id, {});
    expect(badFields(empty)).toEqual(["body"]);
    expect(empty.json.error.message).toContain("name at least one of quantity, price, trigger_price, order_type");
    expect(badFields(await patch(id, { order_type: "MARKET", price: "2450.00" }))).toEqual(["price"]);
    expect(badFields(await patch(id, { trigger_price: "2450.00" }))).toEqual(["trigger_price"]);
    expect(badFields(await patch(id, { price: "2451.33" }))).toEqual(["price"]);
    expect(badFields(await patch(id, { quantity: 0, price: 2451 }))).toEqual(["price", "quantity"]);
    expect(badFields(await patch(id, { qty: 5, quantity: 4 }))).toEqual(["qty"]);
    const future = await place({ instrument_token: NIFTY_FUT.instrument_token, quantity: 25, price: "23450.00" });
    const offLot = await patch(future, { quantity: 30 });
    expect(badFields(offLot)).toEqual(["quantity"]);
    expect(offLot.json.error.message).toContain("lot size 25");
    expect(h.services.modifies.length).toBe(before);
  });

  test("a quantity not above what has filled: 422 saying so", async () => {
    const id = await place({});
    h.services.fill(id, 6, 245_135);
    const r = await patch(id, { quantity: 6 });
    expect(badFields(r)).toEqual(["quantity"]);
    expect(r.json.error.message).toContain("not above the 6 already filled");
    expect((await patch(id, { quantity: 8 })).status).toBe(202);
  });

  test("404 for an order that does not exist; 409 for a finished one; 403 for a read key", async () => {
    const missing = await patch("no-such-order", { quantity: 1 });
    expect(missing.status).toBe(404);
    expect(errorResponse.parse(missing.json).error.code).toBe("NOT_FOUND");
    const id = await place({});
    h.services.fill(id, 10, 245_135);
    const finished = await patch(id, { quantity: 20 });
    expect(finished.status).toBe(409);
    expect(finished.json.error).toMatchObject({ code: "CONFLICT", message: `order ${id} is FILLED: only an open order can be modified` });
    expect((await patch(id, { quantity: 20 }, h.readKey)).status).toBe(403);
  });

  test("a log that does not answer is a 503 with Retry-After", async () => {
    const id = await place({});
    const { AlphaError } = await import("../../src/errors.ts");
    h.services.failure = new AlphaError("LOG_UNAVAILABLE", "cannot send the modify: the log did not answer", { canRetry: true });
    try {
      const r = await patch(id, { quantity: 5 });
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toBe("5");
    } finally {
      h.services.failure = undefined;
    }
  });

  test("in the OpenAPI document with its body schema", () => {
    const op = (h.openapi as any).paths["/api/v1/orders/{id}"].patch;
    expect(op.responses["202"]).toBeDefined();
    expect(op.responses["409"]).toBeDefined();
    const schema = op.requestBody.content["application/json"].schema;
    expect(Object.keys(schema.properties).sort()).toEqual(["order_type", "price", "quantity", "trigger_price"]);
    expect(schema.additionalProperties).toBe(false);
  });
});
