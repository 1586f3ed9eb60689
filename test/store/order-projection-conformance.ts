/**
 * The orders projection's repository (src/store/order-projection.ts) on every store adapter: an
 * event is recorded once, and only the newly recorded are reported; orders read back exactly as
 * saved; an existing order is updated, a new one made, and one made meanwhile by another writer
 * is never overwritten: the save refuses, retryably, and the transaction records nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AlphaError } from "../../src/errors.ts";
import type { AnyEnvelope } from "../../src/events/envelope.ts";
import { newId } from "../../src/events/ids.ts";
import type { Order } from "../../src/orders/lifecycle.ts";
import { sqlDb, type Db } from "../../src/store/db.ts";
import type { Store } from "../../src/store/index.ts";
import { lockOrders, recordOrderEvents, saveOrders } from "../../src/store/order-projection.ts";

export type OpenProjectionStore = () => Promise<Store>;

const recorded = (orderId: string, id = newId()) => ({
  orderId,
  event: { id, type: "order.submitted", ts: "2026-12-02T09:15:00.000Z", broker: "paper", data: { order_id: orderId, quantity: 5 } } as unknown as AnyEnvelope,
});

const order = (over: Partial<Order> = {}): Order => ({
  order_id: newId(),
  broker: "paper",
  strategy_id: "momentum_fast",
  instrument_token: 738561,
  side: "BUY",
  quantity: 5,
  order_type: "LIMIT",
  price: 129_005,
  trigger_price: null,
  product: "MIS",
  status: "OPEN",
  reason_code: null,
  message: null,
  correlation_id: newId(),
  filled_quantity: 0,
  filled_value: 0,
  created_at: "2026-12-02T09:15:00.123Z",
  ...over,
});

export function orderProjectionConformance(name: string, open: OpenProjectionStore): void {
  describe(`orders projection repository: ${name}`, () => {
    let store: Store;
    let db: Db;
    beforeAll(async () => {
      store = await open();
      db = sqlDb(store.sql);
    });
    afterAll(async () => {
      await store?.close();
    });

    const eventCount = async (orderId: string) => (await store.sql`select count(*)::int as n from order_events where order_id = ${orderId}`)[0]!.n as number;

    test("an event is recorded once: only those recorded now come back, spelt as given", async () => {
      const orderId = newId();
      const first = recorded(orderId);
      const upper = recorded(orderId, newId().toUpperCase());
      expect(await db.transaction((tx) => recordOrderEvents(tx, [first, upper]))).toEqual(new Set([first.event.id, upper.event.id]));
      const again = recorded(orderId);
      expect(await db.transaction((tx) => recordOrderEvents(tx, [first, again, upper]))).toEqual(new Set([again.event.id]));
      expect(await eventCount(orderId)).toBe(3);
      const [row] = await store.sql`select type, data from order_events where event_id = ${first.event.id}`;
      expect({ ...row }).toEqual({ type: "order.submitted", data: first.event.data });
    });

    test("a new order is made and read back exactly as saved; a saved one is updated in place", async () => {
      const made = order({ filled_quantity: 3, filled_value: 3 * 129_005, reason_code: "R", message: "m" });
      const bare = order({ price: null, product: null, order_type: "MARKET" });
      await db.transaction((tx) => saveOrders(tx, new Map([[made.order_id, made], [bare.order_id, bare]]), new Set()));
      const known = await db.transaction((tx) => lockOrders(tx, [made.order_id, bare.order_id, "no-such-order"]));
      expect(known).toEqual(new Map([[made.order_id, made], [bare.order_id, bare]]));

      const next: Order = { ...made, status: "FILLED", filled_quantity: 5, filled_value: 5 * 129_005, reason_code: null, message: null };
      await db.transaction((tx) => saveOrders(tx, new Map([[made.order_id, next]]), new Set([made.order_id])));
      expect((await db.transaction((tx) => lockOrders(tx, [made.order_id]))).get(made.order_id)).toEqual(next);
    });

    test("saving keeps what the projection does not own: the client's order id", async () => {
      const placed = order({ status: "PENDING" });
      await db.transaction((tx) => saveOrders(tx, new Map([[placed.order_id, placed]]), new Set()));
      await store.sql`update orders set client_order_id = 'desk-1' where order_id = ${placed.order_id}`;
      await db.transaction((tx) => saveOrders(tx, new Map([[placed.order_id, { ...placed, status: "OPEN" }]]), new Set([placed.order_id])));
      const [row] = await store.sql`select status, client_order_id from orders where order_id = ${placed.order_id}`;
      expect({ ...row }).toEqual({ status: "OPEN", client_order_id: "desk-1" });
    });

    test("an order made meanwhile by another writer is not overwritten: a retryable CONFLICT, and the transaction records nothing", async () => {
      const mine = order({ status: "FILLED", filled_quantity: 5, filled_value: 5 * 129_005 });
      const event = recorded(mine.order_id);
      let error: unknown;
      await db
        .transaction(async (tx) => {
          await recordOrderEvents(tx, [event]);
          expect((await lockOrders(tx, [mine.order_id])).size).toBe(0);
          // Another writer makes the order after it was read (inside this transaction, as the
          // embedded database has one session).
          await tx.query(
            `insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, status, correlation_id)
             values ($1, 'paper', 'manual', 738561, 'BUY', 5, 'MARKET', 'PENDING', $2)`,
            [mine.order_id, mine.correlation_id],
          );
          await saveOrders(tx, new Map([[mine.order_id, mine]]), new Set());
        })
        .catch((err: unknown) => (error = err));
      expect(error).toBeInstanceOf(AlphaError);
      expect(error).toMatchObject({ code: "CONFLICT", canRetry: true });
      expect(await eventCount(mine.order_id)).toBe(0);
      expect(await store.sql`select 1 from orders where order_id = ${mine.order_id}`).toHaveLength(0);
    });

    test("nothing to record, lock or save asks nothing of the database", async () => {
      const none: Db = { query: () => Promise.reject(new Error("no statement expected")), transaction: (work) => work(none) };
      expect(await recordOrderEvents(none, [])).toEqual(new Set());
      expect(await lockOrders(none, [])).toEqual(new Map());
      await saveOrders(none, new Map(), new Set());
    });
  });
}
