/**
 * Postbacks: the checksum decides whether a body is read at all; then Kite's JSON becomes a typed
 * update in paise. And the status table: Kite's order statuses onto our lifecycle.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KiteClient } from "../../../src/kite/rest/client.ts";
import { kiteOrderStatus, postbackChecksum, verifyPostback, type KiteLifecycle } from "../../../src/kite/rest/postback.ts";
import type { FakeKite } from "../server/kite-server.ts";
import { kiteWithClient, limitBuy } from "./support.ts";

let fake: FakeKite;
let client: KiteClient;
beforeAll(async () => {
  ({ fake, client } = await kiteWithClient());
});
afterAll(() => fake.stop());

describe("verifyPostback", () => {
  test("a genuine postback: checksum ok, prices in paise, times in UTC", async () => {
    const id = await client.placeOrder("regular", { ...limitBuy, quantity: 3 });
    fake.fill(id, { quantity: 1, price: 145_050 });
    const r = verifyPostback(fake.postback(id), fake.apiSecret);
    if (!r.ok) throw new Error(r.message);
    expect(r.update).toMatchObject({
      order_id: id,
      user_id: fake.userId,
      status: "OPEN",
      price: 145_050,
      average_price: 145_050,
      quantity: 3,
      filled_quantity: 1,
      pending_quantity: 2,
      unfilled_quantity: 0,
    });
    expect(r.update.order_timestamp).toMatch(/Z$/);
    expect(kiteOrderStatus(r.update)).toBe("partially_filled");
  });

  test("Kite's documented checksum: sha256(order_id + order_timestamp + api_secret)", () => {
    const expected = new Bun.CryptoHasher("sha256").update("220303000308932" + "2022-03-03 09:24:25" + "secret").digest("hex");
    expect(postbackChecksum("220303000308932", "2022-03-03 09:24:25", "secret")).toBe(expected);
  });

  test("bytes as received work as well as text", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    expect(verifyPostback(new TextEncoder().encode(fake.postback(id)), fake.apiSecret).ok).toBe(true);
  });

  test("refused: another app's secret, a forged checksum, a changed order_id or timestamp", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    const bodies = [
      fake.postback(id, { apiSecret: "someone_else" }),
      fake.postback(id, { checksum: "0".repeat(64) }),
      fake.postback(id, { checksum: "short" }),
      fake.postback(id, { tamper: { order_id: "999999999999999" } }),
      fake.postback(id, { tamper: { order_timestamp: "2022-03-03 09:24:26" } }),
      fake.postback(id, { tamper: { checksum: undefined } }),
    ];
    for (const b of bodies) expect(verifyPostback(b, fake.apiSecret)).toMatchObject({ ok: false, reason: "bad_checksum" });
    // The right checksum with the wrong secret on our side is refused the same way.
    expect(verifyPostback(fake.postback(id), "not_our_secret")).toMatchObject({ ok: false, reason: "bad_checksum" });
  });

  test("not JSON, or checksummed but not Kite's shape", async () => {
    expect(verifyPostback("order_id=1", fake.apiSecret)).toMatchObject({ ok: false, reason: "not_json" });
    const id = await client.placeOrder("regular", limitBuy);
    const r = verifyPostback(fake.postback(id, { tamper: { price: "1450.50" } }), fake.apiSecret);
    expect(r).toMatchObject({ ok: false, reason: "invalid" });
    if (!r.ok) expect(r.message).toContain("price");
  });

  test("sent over HTTP as Kite does: a raw JSON body that verifies as received", async () => {
    const id = await client.placeOrder("regular", limitBuy);
    await client.cancelOrder("regular", id);
    const got: Array<{ type: string | null; body: string }> = [];
    const receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        got.push({ type: req.headers.get("content-type"), body: await req.text() });
        return new Response("ok");
      },
    });
    try {
      expect((await fake.sendPostback(`http://127.0.0.1:${receiver.port}/kite/postback`, id)).status).toBe(200);
      expect(got[0]!.type).toBe("application/json");
      const r = verifyPostback(got[0]!.body, fake.apiSecret);
      if (!r.ok) throw new Error(r.message);
      expect(r.update).toMatchObject({ status: "CANCELLED", cancelled_quantity: 5, unfilled_quantity: 5 });
      expect(kiteOrderStatus(r.update)).toBe("cancelled");
    } finally {
      await receiver.stop(true);
    }
  });
});

describe("kiteOrderStatus", () => {
  const table: Array<[string, number, number, KiteLifecycle]> = [
    // status, quantity, filled, lifecycle
    ["PUT ORDER REQ RECEIVED", 10, 0, "submitted"],
    ["VALIDATION PENDING", 10, 0, "submitted"],
    ["OPEN PENDING", 10, 0, "submitted"],
    ["AMO REQ RECEIVED", 10, 0, "submitted"],
    ["OPEN", 10, 0, "open"],
    ["TRIGGER PENDING", 10, 0, "open"],
    ["MODIFY VALIDATION PENDING", 10, 0, "open"],
    ["MODIFY PENDING", 10, 0, "open"],
    ["MODIFIED", 10, 0, "open"],
    ["NOT MODIFIED", 10, 0, "open"],
    ["CANCEL PENDING", 10, 0, "open"],
    ["UPDATE", 10, 0, "open"],
    ["OPEN", 10, 4, "partially_filled"],
    ["MODIFY VALIDATION PENDING", 10, 4, "partially_filled"],
    ["CANCEL PENDING", 10, 9, "partially_filled"],
    ["COMPLETE", 10, 10, "filled"],
    ["CANCELLED", 10, 0, "cancelled"],
    ["CANCELLED", 10, 4, "cancelled"],
    ["REJECTED", 10, 0, "rejected"],
    ["LAPSED", 10, 0, "unknown"],
    ["open", 10, 0, "unknown"],
  ];
  for (const [status, quantity, filled, want] of table) {
    test(`${status} with ${filled}/${quantity} filled → ${want}`, () => {
      expect(kiteOrderStatus({ status, quantity, filled_quantity: filled })).toBe(want);
    });
  }
});
