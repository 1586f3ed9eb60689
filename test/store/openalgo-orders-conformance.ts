/**
 * The OpenAlgo orders repository (src/store/openalgo-orders.ts) on every store adapter: a message
 * creates its order, a later one updates it (fields it leaves out kept), an older one changes
 * nothing, a final status is not undone by a late "open", and pages come newest first.
 */
import { describe, expect, test } from "bun:test";
import type { OpenAlgoOrder } from "../../src/openalgo-events/receive.ts";
import { sqlDb } from "../../src/store/db.ts";
import type { Store } from "../../src/store/index.ts";
import { openAlgoOrderById, openAlgoOrdersPage, saveOpenAlgoOrder } from "../../src/store/openalgo-orders.ts";

const order = (over: Partial<OpenAlgoOrder> = {}): OpenAlgoOrder => ({
  order_id: "ORD123456",
  user_id: "user123",
  symbol: "SBIN-EQ",
  exchange: "NSE",
  side: "BUY",
  quantity: 1,
  price: 85_050,
  trigger_price: null,
  order_type: "LIMIT",
  product: "MIS",
  status: "OPEN",
  openalgo_status: "open",
  mode: "live",
  broker: "angel",
  strategy: null,
  filled_quantity: null,
  average_price: null,
  event_ts: "2026-01-29T10:30:45.123Z",
  event_type: "order_event",
  ...over,
});

export function openAlgoOrdersConformance(name: string, open: () => Promise<Store>): void {
  describe(`openalgo orders: ${name}`, () => {
    test("created, updated by a newer message, untouched by an older one; final statuses stay", async () => {
      const store = await open();
      try {
        const db = sqlDb(store.sql);
        expect(await saveOpenAlgoOrder(db, order())).toBe(true);
        expect(await openAlgoOrderById(db, "ORD123456")).toMatchObject({ symbol: "SBIN-EQ", side: "BUY", quantity: 1, price: 85_050, status: "OPEN", broker: "angel", event_ts: "2026-01-29T10:30:45.123Z" });
        // A newer message without a price keeps the price; it fills the order.
        expect(await saveOpenAlgoOrder(db, order({ price: null, status: "FILLED", openalgo_status: "complete", filled_quantity: 1, average_price: 85_000, event_ts: "2026-01-29T10:30:46.000Z" }))).toBe(true);
        expect(await openAlgoOrderById(db, "ORD123456")).toMatchObject({ price: 85_050, status: "FILLED", filled_quantity: 1, average_price: 85_000 });
        // Older than what is shown: nothing changes.
        expect(await saveOpenAlgoOrder(db, order({ status: "CANCELLED", event_ts: "2026-01-29T10:30:40.000Z" }))).toBe(false);
        // A late "open" at a newer time does not undo the fill.
        await saveOpenAlgoOrder(db, order({ status: "OPEN", event_ts: "2026-01-29T10:31:00.000Z" }));
        expect((await openAlgoOrderById(db, "ORD123456"))?.status).toBe("FILLED");
        expect(await openAlgoOrderById(db, "nope")).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    test("pages newest first, filtered by status", async () => {
      const store = await open();
      try {
        const db = sqlDb(store.sql);
        for (let i = 1; i <= 5; i++) await saveOpenAlgoOrder(db, order({ order_id: `O${i}`, status: i % 2 ? "OPEN" : "REJECTED" }));
        const first = await openAlgoOrdersPage(db, { limit: 3 });
        expect(first.map((o) => o.order_id)).toEqual(["O5", "O4", "O3"]);
        expect((await openAlgoOrdersPage(db, { limit: 3, beforeSeq: first[2]!.seq })).map((o) => o.order_id)).toEqual(["O2", "O1"]);
        expect((await openAlgoOrdersPage(db, { limit: 10, status: "REJECTED" })).map((o) => o.order_id)).toEqual(["O4", "O2"]);
      } finally {
        await store.close();
      }
    });
  });
}
