/**
 * The order outbox repository (src/store/outbox.ts) on every store adapter: the order, its first
 * event and its outbox row are written together or not at all; claims honour leases, `skip` and
 * `mine`, and two relays claiming at once never get the same row; marks, deadlines, undo, prune.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { newId } from "../../src/events/ids.ts";
import type { Store } from "../../src/store/index.ts";
import { claimDue, claimOrder, expireDue, failedEventId, insertOrder, markSent, orderByClientId, pendingCount, pruneEnded, voidOrder, type OutboxMessage } from "../../src/store/outbox.ts";

export type OpenOutboxStore = () => Promise<Store>;

/** An order as the gateway writes it, its deadline `ttlMs` from now, leased for `leaseMs`. */
export async function placeRow(sql: Store["sql"], opts: { ttlMs?: number; leaseMs?: number; clientOrderId?: string; expiresAt?: number } = {}) {
  const orderId = newId();
  const eventId = newId();
  const expiresAt = opts.expiresAt ?? Date.now() + (opts.ttlMs ?? 30_000);
  const data = { signal_id: orderId, strategy_id: "manual", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", expires_at: new Date(expiresAt).toISOString() };
  const message: OutboxMessage = {
    event_id: eventId,
    order_id: orderId,
    topic: "paper.signals.raw",
    key: "738561",
    envelope: JSON.stringify({ id: eventId, type: "signal.generated", data }),
    expires_at: expiresAt,
  };
  const rows = await insertOrder(
    sql,
    { order_id: orderId, broker: "paper", strategy_id: "manual", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", client_order_id: opts.clientOrderId, correlation_id: newId() },
    { event_id: eventId, type: "signal.generated", ts: new Date().toISOString(), data },
    message,
    opts.leaseMs ?? 0,
  );
  return { orderId, eventId, message, rows };
}

async function row(sql: Store["sql"], orderId: string) {
  const [r] = await sql`select o.status, o.reason_code, o.message, x.sent_at, x.failed_at,
                               (select count(*)::int from order_events e where e.order_id = o.order_id) as events
                          from orders o left join order_outbox x using (order_id) where o.order_id = ${orderId}`;
  return r;
}

export function outboxConformance(name: string, open: OpenOutboxStore): void {
  describe(`order outbox: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });
    const far = () => Date.now() + 1_000;

    test("the order, its first event and its outbox row are written in one statement; a taken client_order_id writes nothing", async () => {
      const cid = `c-${newId()}`;
      const first = await placeRow(store.sql, { clientOrderId: cid, leaseMs: 60_000 });
      expect(first.rows).toHaveLength(1);
      expect(first.rows[0]).toMatchObject({ order_id: first.orderId, status: "PENDING", client_order_id: cid });
      expect(await row(store.sql, first.orderId)).toMatchObject({ status: "PENDING", sent_at: null, failed_at: null, events: 1 });

      const again = await placeRow(store.sql, { clientOrderId: cid });
      expect(again.rows).toHaveLength(0);
      const [none] = await store.sql`select count(*)::int as n from order_outbox where order_id = ${again.orderId}`;
      expect(none?.n).toBe(0);
      const [found] = await orderByClientId(store.sql, "paper", cid);
      expect(found).toMatchObject({ order_id: first.orderId, unsent: true });
      await markSent(store.sql, [first.eventId]);
      expect((await orderByClientId(store.sql, "paper", cid))[0]).toMatchObject({ unsent: false });
    });

    test("claims take lapsed leases only, except rows named mine; skip is honoured; a claim renews the lease", async () => {
      const leased = await placeRow(store.sql, { leaseMs: 60_000 });
      const lapsed = await placeRow(store.sql, { leaseMs: 0 });
      const skipped = await placeRow(store.sql, { leaseMs: 0 });
      const claimed = await claimDue(store.sql, { limit: 1_000, leaseMs: 60_000, sendBefore: far(), skip: [skipped.eventId] });
      const ids = claimed.map((m) => m.event_id);
      expect(ids).toContain(lapsed.eventId);
      expect(ids).not.toContain(leased.eventId);
      expect(ids).not.toContain(skipped.eventId);
      expect(claimed.find((m) => m.event_id === lapsed.eventId)).toEqual(lapsed.message);
      // Leased now: a second claim does not take it; named as mine, it does.
      expect((await claimDue(store.sql, { limit: 1_000, leaseMs: 60_000, sendBefore: far() })).map((m) => m.event_id)).not.toContain(lapsed.eventId);
      const mine = await claimDue(store.sql, { limit: 1_000, leaseMs: 60_000, sendBefore: far(), mine: [leased.eventId] });
      expect(mine.map((m) => m.event_id)).toContain(leased.eventId);
      // A client's retry claims the row whoever holds it.
      expect(await claimOrder(store.sql, lapsed.orderId, 60_000, far())).toEqual(lapsed.message);
      await markSent(store.sql, [leased.eventId, lapsed.eventId, skipped.eventId]);
      expect(await claimOrder(store.sql, lapsed.orderId, 60_000, far())).toBeUndefined();
    });

    test("rows too close to their deadline are not claimed", async () => {
      const soon = await placeRow(store.sql, { ttlMs: 500 });
      const claimed = await claimDue(store.sql, { limit: 1_000, leaseMs: 60_000, sendBefore: Date.now() + 1_000 });
      expect(claimed.map((m) => m.event_id)).not.toContain(soon.eventId);
      expect(await claimOrder(store.sql, soon.orderId, 60_000, Date.now() + 1_000)).toBeUndefined();
      await markSent(store.sql, [soon.eventId]);
    });

    test("two relays claiming at once never get the same row", async () => {
      const made = await Promise.all(Array.from({ length: 40 }, () => placeRow(store.sql, { leaseMs: 0 })));
      const [a, b] = await Promise.all([
        claimDue(store.sql, { limit: 25, leaseMs: 60_000, sendBefore: far() }),
        claimDue(store.sql, { limit: 25, leaseMs: 60_000, sendBefore: far() }),
      ]);
      const ids = [...a, ...b].map((m) => m.event_id);
      expect(new Set(ids).size).toBe(ids.length);
      const ours = new Set(made.map((m) => m.eventId));
      expect(ids.filter((id) => ours.has(id)).length).toBe(40);
      await markSent(store.sql, ids);
    });

    test("past its deadline an unsent order ends FAILED SEND_TIMEOUT with an order.failed event; one a stage has seen, or one sent, is left alone", async () => {
      const expiresAt = Date.now() - 10_000;
      const lost = await placeRow(store.sql, { expiresAt });
      const seen = await placeRow(store.sql, { expiresAt });
      const sent = await placeRow(store.sql, { expiresAt });
      await store.sql`insert into order_events (event_id, order_id, type, ts, data) values (${newId()}, ${seen.orderId}, 'signal.validated', now(), '{}')`;
      await markSent(store.sql, [sent.eventId]);
      const expired = await expireDue(store.sql, { before: Date.now() - 5_000, limit: 1_000, message: "too late" });
      const ended = expired.map((x) => x.order_id);
      // Its signal, and the id of its order.failed event (the same in SQL and TypeScript).
      const mine = expired.find((x) => x.order_id === lost.orderId)!;
      expect(mine.envelope).toBe(lost.message.envelope);
      expect(mine.failed_event_id).toBe(failedEventId(lost.eventId));
      expect(ended).toContain(lost.orderId);
      expect(ended).not.toContain(seen.orderId);
      expect(ended).not.toContain(sent.orderId);
      expect(await row(store.sql, lost.orderId)).toMatchObject({ status: "FAILED", reason_code: "SEND_TIMEOUT", message: "too late", events: 2 });
      expect((await row(store.sql, lost.orderId))?.failed_at).not.toBeNull();
      expect(await row(store.sql, seen.orderId)).toMatchObject({ status: "PENDING", reason_code: null, failed_at: null });
      expect((await row(store.sql, seen.orderId))?.sent_at).not.toBeNull();
      expect(await row(store.sql, sent.orderId)).toMatchObject({ status: "PENDING", failed_at: null });
      const [ev] = await store.sql`select event_id::text as id, data from order_events where order_id = ${lost.orderId} and type = 'order.failed'`;
      expect(ev?.id).toBe(failedEventId(lost.eventId));
      expect(ev?.data).toMatchObject({ order_id: lost.orderId, reason_code: "SEND_TIMEOUT" });
      // Ended once: a second pass ends nothing more.
      expect((await expireDue(store.sql, { before: Date.now(), limit: 1_000, message: "again" })).map((x) => x.order_id)).not.toContain(lost.orderId);
      // An ended row is never claimed.
      expect(await claimOrder(store.sql, lost.orderId, 60_000, 0)).toBeUndefined();
    });

    test("an order in doubt is undone unless it was sent; ended rows are pruned", async () => {
      const doubt = await placeRow(store.sql);
      expect(await voidOrder(store.sql, doubt.orderId)).toBe(true);
      expect(await row(store.sql, doubt.orderId)).toBeUndefined();
      const [events] = await store.sql`select count(*)::int as n from order_events where order_id = ${doubt.orderId}`;
      expect(events?.n).toBe(0);
      expect(await voidOrder(store.sql, doubt.orderId)).toBe(false);

      const sent = await placeRow(store.sql);
      await markSent(store.sql, [sent.eventId]);
      expect(await voidOrder(store.sql, sent.orderId)).toBe(false);
      expect(await row(store.sql, sent.orderId)).toMatchObject({ status: "PENDING" });

      await store.sql`update order_outbox set created_at = now() - interval '2 hours' where event_id = ${sent.eventId}`;
      const before = await pendingCount(store.sql);
      expect(await pruneEnded(store.sql, 3_600_000)).toBeGreaterThanOrEqual(1);
      const [left] = await store.sql`select count(*)::int as n from order_outbox where event_id = ${sent.eventId}`;
      expect(left?.n).toBe(0);
      expect(await pendingCount(store.sql)).toBe(before);
    });
  });
}
