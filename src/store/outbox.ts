/**
 * The order outbox (migration 0009): an order, its first event and the message that sends it,
 * written in one statement, and the relay's statements over the outbox (claim, mark sent, end
 * the expired, void, prune). The relay itself is gateway/outbox.ts.
 *
 * Every statement here is one round trip and one transaction. The returned queries are
 * postgres.js queries, so a caller that stops waiting can `cancel()` one not yet sent.
 */
import type { PendingQuery, Row, Sql } from "postgres";
import type { PayloadOf } from "../events/payloads.ts";
import { prepared } from "./db.ts";
import { ORDER_COLUMNS } from "./orders.ts";

/** The reason an order that could not be sent before its deadline ends FAILED with. */
export const SEND_TIMEOUT = "SEND_TIMEOUT";

/** An order as the API accepted it: its signal's fields (one definition, src/events) and where it belongs. */
export type NewOrder = Omit<PayloadOf<"signal.generated">, "signal_id" | "expires_at"> & {
  order_id: string;
  broker: string;
  correlation_id: string;
};

/** One message to send: the encoded envelope, its topic and key, and when it stops being worth sending. */
export interface OutboxMessage {
  event_id: string;
  order_id: string;
  topic: string;
  key: string;
  envelope: string;
  /** Epoch ms: never sent from then on. */
  expires_at: number;
}

type OutboxRow = { event_id: string; order_id: string; topic: string; key: string; envelope: string; expires_at: Date | string };

const toMessage = (r: OutboxRow): OutboxMessage => ({
  event_id: String(r.event_id),
  order_id: r.order_id,
  topic: r.topic,
  key: r.key,
  envelope: r.envelope,
  expires_at: new Date(r.expires_at).getTime(),
});

const MS = `* interval '1 millisecond'`;

/**
 * Inserts the order (PENDING), its first event and its outbox row, claimed by the caller for
 * `leaseMs` (so other relays leave it to the caller's first send). Nothing is inserted when an
 * order with this id or client_order_id exists: the query then returns no row. The row it returns
 * has the columns of src/store/orders.ts (`storedOrder` reads it).
 *
 * @example
 * const [row] = await insertOrder(sql, order, firstEvent, message, 5_000);
 */
export function insertOrder(
  sql: Sql,
  o: NewOrder,
  first: { event_id: string; type: string; ts: string; data: unknown },
  out: OutboxMessage,
  leaseMs: number,
): PendingQuery<Row[]> {
  return prepared(
    sql,
    `with o as (
       insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price, product,
                           status, client_order_id, correlation_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PENDING', $11, $12)
       on conflict do nothing returning ${ORDER_COLUMNS}
     ), e as (
       insert into order_events (event_id, order_id, type, ts, data)
       select $13, $1, $14, $15, $16::jsonb from o
     ), x as (
       insert into order_outbox (event_id, order_id, topic, key, envelope, expires_at, claimed_until)
       select $13, $1, $17, $18, $19, $20, now() + $21 ${MS} from o
     )
     select * from o`,
    [
      o.order_id,
      o.broker,
      o.strategy_id,
      o.instrument_token,
      o.side,
      o.quantity,
      o.order_type,
      o.price ?? null,
      o.trigger_price ?? null,
      o.product ?? null,
      o.client_order_id ?? null,
      o.correlation_id,
      first.event_id,
      first.type,
      first.ts,
      first.data as never,
      out.topic,
      out.key,
      out.envelope,
      new Date(out.expires_at).toISOString(),
      leaseMs,
    ],
  ) as unknown as PendingQuery<Row[]>;
}

/**
 * The order with this client_order_id, with `unsent`: whether its outbox row still waits to be
 * sent (so a retry of it can have it sent).
 */
export function orderByClientId(sql: Sql, broker: string, clientOrderId: string): PendingQuery<Row[]> {
  return prepared(
    sql,
    `select ${ORDER_COLUMNS},
            exists (select 1 from order_outbox x where x.order_id = orders.order_id and x.sent_at is null and x.failed_at is null) as unsent
       from orders where broker = $1 and client_order_id = $2`,
    [broker, clientOrderId],
  ) as unknown as PendingQuery<Row[]>;
}

/**
 * Claims up to `limit` unsent rows for `leaseMs`: those whose lease lapsed, and those in `mine`
 * (rows this process holds and wants to send again), except those in `skip` (sends this process
 * still awaits). Rows whose deadline is before `sendBefore` are left to {@link expireDue}. Rows
 * another relay is claiming at the same moment are skipped, not waited for.
 */
export async function claimDue(
  sql: Sql,
  opts: { limit: number; leaseMs: number; sendBefore: number; mine?: readonly string[]; skip?: readonly string[] },
): Promise<OutboxMessage[]> {
  const rows = await prepared(
    sql,
    `update order_outbox set claimed_until = now() + $2 ${MS}
      where event_id in (
        select event_id from order_outbox
         where sent_at is null and failed_at is null and expires_at > $3
           and (claimed_until <= now() or event_id = any($4::uuid[]))
           and not (event_id = any($5::uuid[]))
         order by expires_at limit $1
         for update skip locked)
      returning event_id::text, order_id, topic, key, envelope, expires_at`,
    [opts.limit, opts.leaseMs, new Date(opts.sendBefore).toISOString(), (opts.mine ?? []) as never, (opts.skip ?? []) as never],
  );
  return (rows as unknown as OutboxRow[]).map(toMessage);
}

/** Claims one order's unsent row, whoever holds it (a client's retry asks for it now). */
export async function claimOrder(sql: Sql, orderId: string, leaseMs: number, sendBefore: number): Promise<OutboxMessage | undefined> {
  const rows = await prepared(
    sql,
    `update order_outbox set claimed_until = now() + $2 ${MS}
      where order_id = $1 and sent_at is null and failed_at is null and expires_at > $3
      returning event_id::text, order_id, topic, key, envelope, expires_at`,
    [orderId, leaseMs, new Date(sendBefore).toISOString()],
  );
  const r = rows[0] as unknown as OutboxRow | undefined;
  return r && toMessage(r);
}

/** Marks rows sent (those already marked are left as they are). */
export async function markSent(sql: Sql, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await prepared(sql, `update order_outbox set sent_at = now() where event_id = any($1::uuid[]) and sent_at is null`, [eventIds as never]);
}

/** An order ended FAILED SEND_TIMEOUT: its signal's envelope, and the id of its `order.failed` event. */
export interface ExpiredOrder {
  order_id: string;
  envelope: string;
  failed_event_id: string;
}

/**
 * The id of the `order.failed` event of an order whose send deadline passed: derived from its
 * outbox row's event id, so the event recorded here and the one published have one id (the
 * projection records it once). {@link failedEventId} is the same in TypeScript.
 */
const FAILED_ID = `md5(due.event_id::text || '/send-timeout')::uuid`;
export function failedEventId(eventId: string): string {
  const h = new Bun.CryptoHasher("md5").update(`${eventId}/send-timeout`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Ends up to `limit` unsent rows whose deadline is before `before`. An order still PENDING with
 * no event from the pipeline (no stage has seen it) becomes FAILED with reason SEND_TIMEOUT and
 * an `order.failed` event, its row marked failed; a row whose order a stage has seen is marked
 * sent. Returns the orders ended FAILED, for their `order.failed` to be published.
 */
export async function expireDue(sql: Sql, opts: { before: number; limit: number; message: string }): Promise<ExpiredOrder[]> {
  const rows = await prepared(
    sql,
    `with due as (
       select event_id, order_id, envelope from order_outbox
        where sent_at is null and failed_at is null and expires_at < $1
        order by expires_at limit $2
        for update skip locked
     ), o as (
       update orders set status = 'FAILED', reason_code = '${SEND_TIMEOUT}', message = $3, updated_at = now()
        where order_id in (select order_id from due) and status = 'PENDING'
          and not exists (select 1 from order_events e where e.order_id = orders.order_id and e.type <> 'signal.generated')
        returning order_id
     ), x as (
       -- A row whose order a stage has seen was sent (its mark was lost): marked sent, not failed.
       update order_outbox x
          set failed_at = case when exists (select 1 from o where o.order_id = x.order_id) then now() end,
              sent_at = case when exists (select 1 from o where o.order_id = x.order_id) then null else now() end
        where event_id in (select event_id from due)
     ), ended as (
       select o.order_id, due.envelope, ${FAILED_ID} as failed_event_id from o join due using (order_id)
     ), e as (
       insert into order_events (event_id, order_id, type, ts, data)
       select failed_event_id, order_id, 'order.failed', now(),
              jsonb_build_object('order_id', order_id, 'reason_code', '${SEND_TIMEOUT}', 'message', $3::text) from ended
     )
     select order_id, envelope, failed_event_id::text from ended`,
    [new Date(opts.before).toISOString(), opts.limit, opts.message],
  );
  return rows.map((r) => ({ order_id: String(r.order_id), envelope: String(r.envelope), failed_event_id: String(r.failed_event_id) }));
}

/**
 * Undoes an order whose insert was in doubt when the API answered 503: the order, its events and
 * its outbox row go, unless the row was sent meanwhile (then the order stands). Returns whether
 * an order was removed.
 */
export async function voidOrder(sql: Sql, orderId: string): Promise<boolean> {
  const rows = await prepared(
    sql,
    `with x as (
       delete from order_outbox where order_id = $1 and sent_at is null returning order_id
     ), o as (
       delete from orders where order_id in (select order_id from x) and status = 'PENDING' returning order_id
     ), e as (
       delete from order_events where order_id in (select order_id from o)
     )
     select count(*)::int as n from o`,
    [orderId],
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * Deletes up to `limit` rows that ended (sent or failed) and were made more than `olderThanMs`
 * ago; bounded, so one statement never holds the (embedded, single-session) database for long.
 */
export async function pruneEnded(sql: Sql, olderThanMs: number, limit = 5_000): Promise<number> {
  const rows = await prepared(
    sql,
    `with d as (
       delete from order_outbox where event_id in (
         select event_id from order_outbox
          where (sent_at is not null or failed_at is not null) and created_at < now() - $1 ${MS}
          limit $2)
       returning 1
     ) select count(*)::int as n from d`,
    [olderThanMs, limit],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The unsent rows, oldest first: for tests and /ready-style checks. */
export async function pendingCount(sql: Sql): Promise<number> {
  const rows = await sql.unsafe(`select count(*)::int as n from order_outbox where sent_at is null and failed_at is null`);
  return Number(rows[0]?.n ?? 0);
}
