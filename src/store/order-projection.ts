/**
 * The writes of the orders read model (`orders`, `order_events`), for the orders projection. The
 * lifecycle fold (src/orders/lifecycle.ts) decides each order's new state; this only stores it:
 * no status rule lives in SQL. Call all three in one transaction (`Db.transaction`): record the
 * events, lock and read the orders they touch, then save what the fold made of them.
 */
import { AlphaError } from "../errors.ts";
import type { AnyEnvelope } from "../events/envelope.ts";
import type { Order } from "../orders/lifecycle.ts";
import type { Db } from "./db.ts";

const RECORD = `
insert into order_events (event_id, order_id, type, ts, data)
select event_id, order_id, type, ts, data::jsonb
  from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) with ordinality as i(event_id, order_id, type, ts, data, n)
 order by n
on conflict do nothing returning event_id::text as event_id`;

// Two projections may fold events of one order at once (its topics' partitions are shared out
// between processes), and a row lock cannot hold an order that does not exist yet: a lock per
// order id serialises them, taken in one order by all, so they wait for each other, never deadlock.
const ORDERS_LOCK_SPACE = 0x6f726473;
const LOCK_IDS = `
select count(pg_advisory_xact_lock(${ORDERS_LOCK_SPACE}, key))::int as locked
  from (select distinct hashtext(order_id) as key from unnest($1::text[]) as i(order_id) order by key) keys`;

// Also locks the rows against the other writers of orders (the gateway's relay and outbox).
const READ = `
select order_id, broker, strategy_id, instrument_token::text as instrument_token, side, quantity, order_type,
       price::text as price, trigger_price::text as trigger_price, product, status, reason_code, message, correlation_id,
       filled_quantity, filled_value::text as filled_value,
       to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at
  from orders where order_id = any($1::text[]) order by order_id for update`;

// Orders that existed are updated (they are locked); new ones are inserted in order_id order. A
// new order another writer made meanwhile is not overwritten: the caller retries on the count.
const SAVE = `
with input as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::text[], $8::bigint[], $9::bigint[],
                       $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int[], $16::bigint[], $17::timestamptz[])
    as i(order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
         product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at)
),
updated as (
  update orders o set status = i.status, reason_code = i.reason_code, message = i.message,
                      filled_quantity = i.filled_quantity, filled_value = i.filled_value, updated_at = now()
    from input i where i.order_id = any($18::text[]) and o.order_id = i.order_id
  returning o.order_id
),
inserted as (
  insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
                      product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, updated_at)
  select order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
         product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, now()
    from input where order_id <> all($18::text[]) order by order_id
  on conflict (order_id) do nothing
  returning order_id
)
select (select count(*) from updated)::int + (select count(*) from inserted)::int as saved`;

/** The order an event belongs to and the event as recorded in its history. */
export interface RecordedEvent {
  orderId: string;
  event: AnyEnvelope;
}

/**
 * Records events in the orders' histories, in the given order; one recorded before is skipped.
 * Returns the ids of those recorded now: only those are new to the orders.
 *
 * @example
 * const recorded = await recordOrderEvents(tx, events.map((e) => ({ orderId: orderIdOf(e), event: e })));
 */
export async function recordOrderEvents(tx: Db, events: readonly RecordedEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await tx.query<{ event_id: string }>(RECORD, [
    events.map((r) => r.event.id),
    events.map((r) => r.orderId),
    events.map((r) => r.event.type),
    events.map((r) => r.event.ts),
    events.map((r) => JSON.stringify(r.event.data)),
  ]);
  // The database spells a uuid in lower case; the ids are given back as the caller spelt them.
  const given = new Map(events.map((r) => [r.event.id.toLowerCase(), r.event.id]));
  return new Set(rows.map((r) => given.get(r.event_id) ?? r.event_id));
}

type OrderRow = Omit<Order, "instrument_token" | "price" | "trigger_price" | "filled_value"> & {
  instrument_token: string;
  price: string | null;
  trigger_price: string | null;
  filled_value: string;
};

const numberOrNull = (text: string | null): number | null => (text === null ? null : Number(text));

/**
 * The orders with these ids that exist, by id. Until the transaction ends, the ids are locked for
 * other projections (whether the order exists or not) and the rows for every writer.
 *
 * @example
 * const known = await lockOrders(tx, ["ord-1", "ord-2"]);
 */
export async function lockOrders(tx: Db, orderIds: readonly string[]): Promise<Map<string, Order>> {
  if (orderIds.length === 0) return new Map();
  // Sent together (postgres.js pipelines a transaction's statements); READ starts once the locks are held.
  const [, rows] = await Promise.all([tx.query(LOCK_IDS, [orderIds]), tx.query<OrderRow>(READ, [orderIds])]);
  return new Map(
    rows.map((r) => [
      r.order_id,
      { ...r, instrument_token: Number(r.instrument_token), price: numberOrNull(r.price), trigger_price: numberOrNull(r.trigger_price), filled_value: Number(r.filled_value) },
    ]),
  );
}

/**
 * Saves the orders' new states: those in `existed` (locked by {@link lockOrders}) are updated,
 * the others made. Throws a retryable CONFLICT when an order it would make was made meanwhile by
 * another writer: the transaction then rolls back and the whole batch is tried again.
 *
 * @example
 * await saveOrders(tx, foldBatch(known, batch, (id) => recorded.has(id)), new Set(known.keys()));
 */
export async function saveOrders(tx: Db, orders: ReadonlyMap<string, Order>, existed: ReadonlySet<string>): Promise<void> {
  if (orders.size === 0) return;
  const list = [...orders.values()];
  const column = <T>(pick: (o: Order) => T) => list.map(pick);
  const [{ saved }] = (await tx.query<{ saved: number }>(SAVE, [
    column((o) => o.order_id),
    column((o) => o.broker),
    column((o) => o.strategy_id),
    column((o) => o.instrument_token),
    column((o) => o.side),
    column((o) => o.quantity),
    column((o) => o.order_type),
    column((o) => o.price),
    column((o) => o.trigger_price),
    column((o) => o.product),
    column((o) => o.status),
    column((o) => o.reason_code),
    column((o) => o.message),
    column((o) => o.correlation_id),
    column((o) => o.filled_quantity),
    column((o) => o.filled_value),
    column((o) => o.created_at),
    [...existed],
  ])) as [{ saved: number }];
  if (saved !== list.length) {
    throw new AlphaError("CONFLICT", `orders projection: ${list.length - saved} of ${list.length} orders changed by another writer meanwhile`, { canRetry: true });
  }
}
