/**
 * The orders projection's repository (src/store/order-projection.ts) on every store adapter: an
 * event is recorded once, and only the newly recorded are reported; orders read back exactly as
 * saved; an existing order is updated, a new one made, and one made meanwhile by another writer
 * is never overwritten: the save refuses, retryably, and the transaction records nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AnyEnvelope } from "../../src/events/envelope.ts";
import { newId } from "../../src/events/ids.ts";
import type { Order } from "../../src/orders/lifecycle.ts";
import { sqlDb, type Db } from "../../src/store/db.ts";
import type { Store } from "../../src/store/index.ts";
import { readFoldInput, saveFold } from "../../src/store/order-projection.ts";

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
    const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => (err as { code?: string }).code);
    /** Saves `orders` with `events` from what is in the database now. */
    const save = async (events: ReturnType<typeof recorded>[], orders: Order[]) => {
      const input = await readFoldInput(db, orders.map((o) => o.order_id), events.map((e) => e.event.id));
      await saveFold(db, events, new Map(orders.map((o) => [o.order_id, o])), input.versions);
    };

    test("the events recorded come back as recorded, spelt as given; an event is recorded once", async () => {
      const orderId = newId();
      const first = recorded(orderId);
      const upper = recorded(orderId, newId().toUpperCase());
      await save([first, upper], [order({ order_id: orderId })]);
      const later = recorded(orderId);
      expect((await readFoldInput(db, [], [first.event.id, later.event.id, upper.event.id])).recorded).toEqual(new Set([first.event.id, upper.event.id]));
      expect(await eventCount(orderId)).toBe(2);
      const [row] = await store.sql`select type, data from order_events where event_id = ${first.event.id}`;
      expect({ ...row }).toEqual({ type: "order.submitted", data: first.event.data });
      // Saving an event recorded since the read writes nothing.
      expect(await codeOf(saveFold(db, [first], new Map(), new Map()))).toBe("40001");
      expect(await eventCount(orderId)).toBe(2);
    });

    test("a new order is made and read back exactly as saved; a saved one is updated in place", async () => {
      const made = order({ filled_quantity: 3, filled_value: 3 * 129_005, reason_code: "R", message: "m" });
      const bare = order({ price: null, product: null, order_type: "MARKET" });
      await save([recorded(made.order_id), recorded(bare.order_id)], [made, bare]);
      const known = await readFoldInput(db, [made.order_id, bare.order_id, "no-such-order"], []);
      expect(known.orders).toEqual(new Map([[made.order_id, made], [bare.order_id, bare]]));
      expect([...known.versions.keys()].sort()).toEqual([made.order_id, bare.order_id].sort());

      const next: Order = { ...made, status: "FILLED", filled_quantity: 5, filled_value: 5 * 129_005, reason_code: null, message: null };
      await save([recorded(made.order_id)], [next]);
      expect((await readFoldInput(db, [made.order_id], [])).orders.get(made.order_id)).toEqual(next);
    });

    test("a modified order's quantity, type and prices are saved in place: a price dropped is null", async () => {
      const resting = order({ order_type: "SL", price: 129_005, trigger_price: 128_995 });
      await save([recorded(resting.order_id)], [resting]);
      const changed: Order = { ...resting, quantity: 3, order_type: "LIMIT", price: 129_500, trigger_price: null };
      await save([recorded(resting.order_id)], [changed]);
      expect((await readFoldInput(db, [resting.order_id], [])).orders.get(resting.order_id)).toEqual(changed);
    });

    test("saving keeps what the projection does not own: the client's order id", async () => {
      const placed = order({ status: "PENDING" });
      await save([recorded(placed.order_id)], [placed]);
      await store.sql`update orders set client_order_id = 'desk-1' where order_id = ${placed.order_id}`;
      await save([recorded(placed.order_id)], [{ ...placed, status: "OPEN" }]);
      const [row] = await store.sql`select status, client_order_id from orders where order_id = ${placed.order_id}`;
      expect({ ...row }).toEqual({ status: "OPEN", client_order_id: "desk-1" });
    });

    test("an order made, changed or removed by another writer after the read: 40001, and nothing is written", async () => {
      // Made meanwhile.
      const mine = order({ status: "FILLED", filled_quantity: 5, filled_value: 5 * 129_005 });
      const event = recorded(mine.order_id);
      const input = await readFoldInput(db, [mine.order_id], [event.event.id]);
      expect(input.orders.size).toBe(0);
      await store.sql`insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, status, correlation_id)
                      values (${mine.order_id}, 'paper', 'manual', 738561, 'BUY', 5, 'MARKET', 'PENDING', ${mine.correlation_id})`;
      expect(await codeOf(saveFold(db, [event], new Map([[mine.order_id, mine]]), input.versions))).toBe("40001");
      expect(await eventCount(mine.order_id)).toBe(0);
      expect((await store.sql`select status from orders where order_id = ${mine.order_id}`)[0]!.status).toBe("PENDING");

      // Changed meanwhile, then removed meanwhile.
      const read = await readFoldInput(db, [mine.order_id], []);
      await store.sql`update orders set message = 'relay' where order_id = ${mine.order_id}`;
      expect(await codeOf(saveFold(db, [event], new Map([[mine.order_id, mine]]), read.versions))).toBe("40001");
      const again = await readFoldInput(db, [mine.order_id], []);
      await store.sql`delete from orders where order_id = ${mine.order_id}`;
      expect(await codeOf(saveFold(db, [event], new Map([[mine.order_id, mine]]), again.versions))).toBe("40001");
      expect(await eventCount(mine.order_id)).toBe(0);
    });

    test("nothing to read or save asks nothing of the database", async () => {
      const none: Db = { query: () => Promise.reject(new Error("no statement expected")) };
      expect(await readFoldInput(none, [], [])).toEqual({ orders: new Map(), versions: new Map(), recorded: new Set() });
      await saveFold(none, [], new Map(), new Map());
    });
  });
}
