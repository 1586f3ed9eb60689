/**
 * The venue orders repository (src/store/venue-orders.ts) on every store adapter: an order is
 * recorded once (a second record changes nothing), found by our id and, once known, by the
 * venue's; the order sent reads back exactly; tags and venue ids stay unique.
 */
import { describe, expect, test } from "bun:test";
import type { PayloadOf } from "../../src/events/payloads.ts";
import { newId } from "../../src/events/ids.ts";
import type { Store } from "../../src/store/index.ts";
import { sqlState, suiteStore } from "./suite-store.ts";
import { listVenueOrders, recordVenueOrder, setVenueId, setVenueOrig, setVenueStatus, venueIdOf, venueOrderByVenueId, venueOrderOf } from "../../src/store/venue-orders.ts";

function sentOrder(): { order_id: string; tag: string; correlation_id: string; trace_id: string; orig: PayloadOf<"order.submitted"> } {
  const orderId = newId();
  return {
    order_id: orderId,
    tag: `t${orderId.replaceAll("-", "").slice(-19)}`,
    correlation_id: newId(),
    trace_id: newId(),
    orig: { order_id: orderId, signal_id: orderId, strategy_id: "momentum_fast", instrument_token: 4_294_967_295, side: "SELL", quantity: 3, order_type: "LIMIT", price: 129_045 },
  };
}

export function venueOrdersConformance(name: string, open: () => Promise<Store>): void {
  describe(`venue orders: ${name}`, () => {
    const opened = suiteStore(open);

    test("an order is recorded once: a second record (a redelivery, a restart) is refused and changes nothing", async () => {
      const o = sentOrder();
      expect(await recordVenueOrder(opened.db, "zerodha", o)).toBe(true);
      expect(await recordVenueOrder(opened.db, "zerodha", { ...o, trace_id: newId(), orig: { ...o.orig, quantity: 9 } })).toBe(false);
      await setVenueId(opened.db, o.order_id, `v-${o.order_id}`);
      expect(await venueOrderByVenueId(opened.db, `v-${o.order_id}`)).toEqual({ ...o, venue_order_id: `v-${o.order_id}` });
    });

    test("the venue's id is unknown until set, then found both ways; an order we did not place is not found", async () => {
      const o = sentOrder();
      await recordVenueOrder(opened.db, "zerodha", o);
      expect(await venueIdOf(opened.db, o.order_id)).toBeUndefined();
      expect(await venueIdOf(opened.db, newId())).toBeUndefined();
      expect(await venueOrderByVenueId(opened.db, "no-such-venue-id")).toBeUndefined();
      await setVenueId(opened.db, o.order_id, "2501070000001");
      expect(await venueIdOf(opened.db, o.order_id)).toBe("2501070000001");
      const found = await venueOrderByVenueId(opened.db, "2501070000001");
      expect(found).toEqual({ ...o, venue_order_id: "2501070000001" });
      expect(found!.orig.instrument_token).toBe(4_294_967_295);
    });

    test("an order is read back by our id with what was sent (an after-market order's amo too), the venue's id once known", async () => {
      const o = sentOrder();
      const amo = { ...o, orig: { ...o.orig, amo: true } };
      expect(await venueOrderOf(opened.db, o.order_id)).toBeUndefined();
      await recordVenueOrder(opened.db, "zerodha", amo);
      expect(await venueOrderOf(opened.db, o.order_id)).toMatchObject({ venue_order_id: null, orig: amo.orig });
      await setVenueId(opened.db, o.order_id, `v-${o.order_id}`);
      expect(await venueOrderOf(opened.db, o.order_id)).toMatchObject({ venue_order_id: `v-${o.order_id}`, orig: amo.orig });
    });

    test("the venue's last status is kept; reconciliation lists every order with its tag and venue id", async () => {
      const known = sentOrder();
      const lost = sentOrder();
      await recordVenueOrder(opened.db, "zerodha", known);
      await recordVenueOrder(opened.db, "zerodha", lost);
      await setVenueId(opened.db, known.order_id, `v-${known.order_id}`);
      await setVenueStatus(opened.db, `v-${known.order_id}`, "COMPLETE");
      const [row] = await opened.store.sql<{ venue_status: string | null }[]>`select venue_status from venue_orders where order_id = ${known.order_id}`;
      expect(row?.venue_status).toBe("COMPLETE");
      const listed = await listVenueOrders(opened.db);
      expect(listed).toContainEqual({ order_id: known.order_id, tag: known.tag, venue_order_id: `v-${known.order_id}` });
      expect(listed).toContainEqual({ order_id: lost.order_id, tag: lost.tag, venue_order_id: null });
    });

    test("a modified order reads back as modified, by our id and by the venue's; another order is untouched", async () => {
      const o = sentOrder();
      const other = sentOrder();
      await recordVenueOrder(opened.db, "zerodha", o);
      await recordVenueOrder(opened.db, "zerodha", other);
      expect(await venueOrderOf(opened.db, o.order_id)).toEqual({ ...o, venue_order_id: null });
      expect(await venueOrderOf(opened.db, newId())).toBeUndefined();
      await setVenueId(opened.db, o.order_id, `v-${o.order_id}`);
      const { price: _price, ...rest } = o.orig;
      const modified = { ...rest, quantity: 7, order_type: "SL-M" as const, trigger_price: 129_500 };
      await setVenueOrig(opened.db, o.order_id, modified);
      expect((await venueOrderOf(opened.db, o.order_id))?.orig).toEqual(modified);
      expect((await venueOrderByVenueId(opened.db, `v-${o.order_id}`))?.orig).toEqual(modified);
      expect((await venueOrderOf(opened.db, other.order_id))?.orig).toEqual(other.orig);
    });

    test("two orders cannot share a tag or a venue id", async () => {
      const first = sentOrder();
      await recordVenueOrder(opened.db, "zerodha", first);
      expect(await sqlState(recordVenueOrder(opened.db, "zerodha", { ...sentOrder(), tag: first.tag }))).toBe("23505");
      const second = sentOrder();
      await recordVenueOrder(opened.db, "zerodha", second);
      await setVenueId(opened.db, first.order_id, `v-${first.order_id}`);
      expect(await sqlState(setVenueId(opened.db, second.order_id, `v-${first.order_id}`))).toBe("23505");
    });
  });
}
