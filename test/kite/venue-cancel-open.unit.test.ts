/**
 * The day's end on zerodha (src/kite/venue.ts cancelOpen): of Kite's order book, only our open
 * orders of the instrument and product are cancelled; a finished one, another product's, another
 * instrument's and an order placed outside the gateway (not our tag) are left alone. Kite is a
 * fake of its order book; the venue's table is an embedded database in memory.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import pino from "pino";
import { KiteVenue, type KiteOrders } from "../../src/kite/venue.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { Product } from "../../src/orders/vocabulary.ts";
import { sqlDb } from "../../src/store/db.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const RELIANCE = 738561;
const TCS = 2953217;
let store: Store;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store?.close());

test("cancelOpen cancels our open MIS orders of the instrument in Kite's book, and nothing else", async () => {
  const book: Array<{ order_id: string; instrument_token: number; product: string; status: string; tag?: string }> = [];
  const cancelled: string[] = [];
  const kite = {
    placeOrder: async (_variety: string, p: { tag?: string; product: string; tradingsymbol: string }) => {
      const id = `K${book.length + 1}`;
      book.push({ order_id: id, instrument_token: NSE_MASTER.bySymbol("NSE", p.tradingsymbol)!.instrument_token, product: p.product, status: "OPEN", ...(p.tag ? { tag: p.tag } : {}) });
      return id;
    },
    cancelOrder: async (_variety: string, id: string) => {
      cancelled.push(id);
      return id;
    },
    orders: async () => book,
  } as unknown as KiteOrders;
  const venue = new KiteVenue(sqlDb(store.sql), kite, pino({ level: "silent" }), NSE_MASTER);
  const place = (id: string, token: number, product: Product) =>
    venue.submit({ order_id: id, signal_id: id, strategy_id: "s", instrument_token: token, side: "BUY", quantity: 1, order_type: "LIMIT", price: 100_000 }, { correlation_id: id, trace_id: id }, product);

  await place("mis-open", RELIANCE, "MIS"); // K1: cancelled
  await place("cnc-open", RELIANCE, "CNC"); // K2: another product
  await place("tcs-open", TCS, "MIS"); // K3: another instrument
  await place("mis-done", RELIANCE, "MIS"); // K4: finished
  book[3]!.status = "COMPLETE";
  book.push({ order_id: "K5", instrument_token: RELIANCE, product: "MIS", status: "OPEN", tag: "placed-on-kite-web" });
  book.push({ order_id: "K6", instrument_token: RELIANCE, product: "MIS", status: "TRIGGER PENDING" });

  expect(await venue.cancelOpen(RELIANCE, "MIS")).toEqual([]);
  expect(cancelled).toEqual(["K1"]);
  expect(await venue.cancelOpen(RELIANCE, "CNC")).toEqual([]);
  expect(cancelled).toEqual(["K1", "K2"]);
});
