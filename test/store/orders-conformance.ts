/**
 * The orders read repository (src/store/orders.ts) on every store adapter: one order by id with
 * its money and tokens as numbers, pages newest first with each filter and the seq below which the
 * next page starts, an order's events in the order its lifecycle made them, the open orders
 * that match a cancel-all's filters, and the product a square-off closes a position under.
 */
import { describe, expect, test } from "bun:test";
import { suiteStore } from "./suite-store.ts";
import { newId } from "../../src/events/ids.ts";
import type { Store } from "../../src/store/index.ts";
import { countOrders, lastFilledProduct, orderProducts, openOrders, orderById, orderEvents, ordersPage, storedOrder } from "../../src/store/orders.ts";
import { placeRow } from "./outbox-conformance.ts";

export function ordersConformance(name: string, open: () => Promise<Store>): void {
  describe(`orders read model: ${name}`, () => {
    const opened = suiteStore(open);

    /** An order of `strategy` (unique per test, so tests do not see each other's rows). */
    async function order(strategy: string, over: { broker?: string; status?: string; filled_quantity?: number; filled_value?: number } = {}): Promise<string> {
      const id = newId();
      await opened.store.sql`insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
                                          status, filled_quantity, filled_value, correlation_id)
                      values (${id}, ${over.broker ?? "paper"}, ${strategy}, 4294967295, 'BUY', 10, 'SL', 245135, 245000,
                              ${over.status ?? "OPEN"}, ${over.filled_quantity ?? 0}, ${over.filled_value ?? 0}, ${`c-${id}`})`;
      return id;
    }

    test("one order by id: tokens and money as numbers, times as ISO strings; an unknown id is undefined", async () => {
      const id = await order("by_id", { status: "PARTIALLY_FILLED", filled_quantity: 4, filled_value: 4 * 245_135 });
      const got = await orderById(opened.store.sql, id);
      expect(got).toMatchObject({
        order_id: id,
        broker: "paper",
        strategy_id: "by_id",
        instrument_token: 4_294_967_295,
        side: "BUY",
        quantity: 10,
        filled_quantity: 4,
        filled_value: 980_540,
        order_type: "SL",
        price: 245_135,
        trigger_price: 245_000,
        status: "PARTIALLY_FILLED",
        correlation_id: `c-${id}`,
      });
      expect(got!.reason_code).toBeUndefined();
      expect(got!.client_order_id).toBeUndefined();
      expect(typeof got!.seq).toBe("number");
      expect(new Date(got!.created_at).toISOString()).toBe(got!.created_at);
      expect(await orderById(opened.store.sql, "no-such-order")).toBeUndefined();
    });

    test("the row the outbox's insert returns reads as the same order", async () => {
      const placed = await placeRow(opened.store.sql, { clientOrderId: `c-${newId()}` });
      expect(storedOrder(placed.rows[0]!)).toEqual((await orderById(opened.store.sql, placed.orderId))!);
    });

    test("pages are newest first; each filter narrows them; beforeSeq starts below a page", async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await order("paged", { status: i % 2 === 0 ? "OPEN" : "FILLED" }));
      await order("paged", { broker: "zerodha" });
      await order("other");
      const newestFirst = [...ids].reverse();

      const all = await ordersPage(opened.store.sql, { broker: "paper", strategy_id: "paged", limit: 10 });
      expect(all.map((o) => o.order_id)).toEqual(newestFirst);
      const first = await ordersPage(opened.store.sql, { broker: "paper", strategy_id: "paged", limit: 2 });
      expect(first.map((o) => o.order_id)).toEqual(newestFirst.slice(0, 2));
      const second = await ordersPage(opened.store.sql, { broker: "paper", strategy_id: "paged", beforeSeq: first[1]!.seq, limit: 2 });
      expect(second.map((o) => o.order_id)).toEqual(newestFirst.slice(2, 4));
      const open = await ordersPage(opened.store.sql, { broker: "paper", strategy_id: "paged", status: "OPEN", limit: 10 });
      expect(open.map((o) => o.order_id)).toEqual([ids[4]!, ids[2]!, ids[0]!]);
      expect((await ordersPage(opened.store.sql, { strategy_id: "paged", limit: 10 })).map((o) => o.broker).sort()).toEqual(["paper", "paper", "paper", "paper", "paper", "zerodha"]);
      const unfiltered = await ordersPage(opened.store.sql, { limit: 3 });
      expect(unfiltered).toHaveLength(3);
      expect(unfiltered[0]!.seq).toBeGreaterThan(unfiltered[1]!.seq);
    });

    test("an order's events come by time, and within one millisecond in the lifecycle's order", async () => {
      const id = await order("events");
      const at = (ms: number) => new Date(Date.UTC(2026, 11, 7, 9, 15, 0, ms)).toISOString();
      const event = async (type: string, ts: string) => {
        const eventId = newId();
        await opened.store.sql`insert into order_events (event_id, order_id, type, ts, data) values (${eventId}, ${id}, ${type}, ${ts}, ${opened.store.sql.json({ type })})`;
        return eventId;
      };
      // Written out of order: a fill and its submission share a millisecond.
      const filled = await event("order.filled", at(2));
      const submitted = await event("order.submitted", at(2));
      const validated = await event("signal.validated", at(1));
      const generated = await event("signal.generated", at(1));
      const got = await orderEvents(opened.store.sql, id);
      expect(got.map((e) => e.id)).toEqual([generated, validated, submitted, filled]);
      expect(got[3]).toEqual({ id: filled, type: "order.filled", ts: at(2), data: { type: "order.filled" } });
      expect(await orderEvents(opened.store.sql, "no-such-order")).toEqual([]);
    });

    test("open orders: only PENDING, OPEN and PARTIALLY_FILLED, oldest first, narrowed by broker, strategy and instrument", async () => {
      const sql = opened.store.sql;
      const strategy = `open_${newId().slice(-8).replaceAll("-", "")}`;
      const other = `${strategy}_b`;
      const row = async (over: { broker?: string; strategy?: string; token?: number; status: string }) => {
        const id = newId();
        await sql`insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, status, correlation_id)
                  values (${id}, ${over.broker ?? "paper"}, ${over.strategy ?? strategy}, ${over.token ?? 738561}, 'SELL', 5, 'LIMIT', 250000, ${over.status}, ${`c-${id}`})`;
        return id;
      };
      const pending = await row({ status: "PENDING" });
      const open = await row({ status: "OPEN", token: 4294967295 });
      const partly = await row({ status: "PARTIALLY_FILLED" });
      for (const status of ["FILLED", "REJECTED", "CANCELLED", "FAILED"]) await row({ status });
      const otherStrategy = await row({ strategy: other, status: "OPEN" });
      const zerodha = await row({ broker: "zerodha", status: "OPEN" });

      const ids = async (filter: Parameters<typeof openOrders>[1]) =>
        (await openOrders(sql, filter)).map((o) => o.order_id).filter((id) => [pending, open, partly, otherStrategy, zerodha].includes(id));
      expect(await ids({ strategy_id: strategy })).toEqual([pending, open, partly, zerodha]);
      expect(await ids({ broker: "paper", strategy_id: strategy })).toEqual([pending, open, partly]);
      expect(await ids({ broker: "paper", instrument_token: 4294967295 })).toEqual([open]);
      expect(await ids({ broker: "paper", strategy_id: strategy, instrument_token: 738561 })).toEqual([pending, partly]);
      expect(await ids({ broker: "paper" })).toEqual([pending, open, partly, otherStrategy]);
      expect(await ids({})).toEqual([pending, open, partly, otherStrategy, zerodha]);
      expect(await openOrders(sql, { strategy_id: `${strategy}_none` })).toEqual([]);
      const [first] = await openOrders(sql, { broker: "paper", strategy_id: strategy, instrument_token: 4294967295 });
      expect(first).toMatchObject({ order_id: open, status: "OPEN", instrument_token: 4294967295, side: "SELL", quantity: 5, price: 250000 });
    });

    test("the product of the latest order of a strategy, instrument and side that filled at least in part", async () => {
      const sql = opened.store.sql;
      const strategy = `product_${newId().slice(-8).replaceAll("-", "")}`;
      const row = async (over: { side?: string; product: string | null; filled: number; broker?: string; token?: number }) => {
        const id = newId();
        await sql`insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, filled_quantity, order_type, product, status, correlation_id)
                  values (${id}, ${over.broker ?? "paper"}, ${strategy}, ${over.token ?? 738561}, ${over.side ?? "BUY"}, 10, ${over.filled}, 'MARKET', ${over.product},
                          ${over.filled > 0 ? "FILLED" : "REJECTED"}, ${`c-${id}`})`;
      };
      const of = (side: "BUY" | "SELL", broker: "paper" | "zerodha" = "paper", token = 738561) => lastFilledProduct(sql, { broker, strategy_id: strategy, instrument_token: token, side });
      expect(await of("BUY")).toBeUndefined();
      await row({ product: "MIS", filled: 10 });
      await row({ product: "CNC", filled: 4 });
      // Later, but unfilled, on the other side, of another broker or instrument: none of them counts.
      await row({ product: "NRML", filled: 0 });
      await row({ side: "SELL", product: "NRML", filled: 10 });
      await row({ product: "NRML", filled: 10, broker: "zerodha" });
      await row({ product: "NRML", filled: 10, token: 2953217 });
      expect(await of("BUY")).toBe("CNC");
      expect(await of("SELL")).toBe("NRML");
      expect(await of("BUY", "zerodha")).toBe("NRML");
      // An order that named no product: none is known (the caller's default, MIS, applies).
      await row({ product: null, filled: 1 });
      expect(await of("BUY")).toBeUndefined();
    });

    test("the product each order was placed with; an order placed with none is absent", async () => {
      const { sql } = opened.store;
      const cnc = await order("products-a");
      const none = await order("products-b");
      await sql`update orders set product = 'CNC' where order_id = ${cnc}`;
      const found = await orderProducts(sql, [cnc, none, "no-such-order"]);
      expect([...found.entries()]).toEqual([[cnc, "CNC"]]);
      expect((await orderProducts(sql, [])).size).toBe(0);
    });

    test("a broker's orders are counted, of every status, and no other broker's", async () => {
      const before = { paper: await countOrders(opened.store.sql, "paper"), zerodha: await countOrders(opened.store.sql, "zerodha") };
      await order("count-a", { broker: "paper", status: "FILLED" });
      await order("count-b", { broker: "paper" });
      await order("count-c", { broker: "zerodha", status: "REJECTED" });
      expect(await countOrders(opened.store.sql, "paper")).toBe(before.paper + 2);
      expect(await countOrders(opened.store.sql, "zerodha")).toBe(before.zerodha + 1);
    });
  });
}
