/**
 * The writes of the orders read model (`orders`, `order_events`), for the orders projection. The
 * lifecycle fold (src/orders/lifecycle.ts) decides each order's new state; this only stores it: no
 * status rule lives in SQL. Optimistic, so that the embedded database's one session is never held
 * while the fold runs: read the orders and which events are recorded (`readFoldInput`), fold, then
 * write in one statement (`saveFold`) that records the new events and saves the orders only if
 * nothing it read changed meanwhile, and otherwise writes nothing and fails with 40001 (read again).
 */
import type { AnyEnvelope } from "../events/envelope.ts";
import type { Order } from "../orders/lifecycle.ts";
import type { Db } from "./db.ts";

/** The orders and their events grow without end: each statement is planned for the ids it is given. */
const EACH_TIME = { planEachTime: true } as const;

const RECORDED = `select event_id::text as event_id from order_events where event_id = any($1::uuid[])`;

// xmin (the transaction that wrote the row version) is the version the save compares against.
const READ = `
select order_id, broker, strategy_id, instrument_token::text as instrument_token, side, quantity, order_type,
       price::text as price, trigger_price::text as trigger_price, product, status, reason_code, message, correlation_id,
       filled_quantity, filled_value::text as filled_value,
       to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at, xmin::text as version
  from orders where order_id = any($1::text[])`;

// Every part is counted: an event recorded meanwhile, an order changed, made or removed meanwhile
// makes a count fall short, and unchanged_since_read (migration 0014) then undoes the statement.
const SAVE = `
with events as (
  select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) with ordinality as e(event_id, order_id, type, ts, data, n)
),
input as (
  select * from unnest($6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::int[], $12::text[], $13::bigint[], $14::bigint[],
                       $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::int[], $21::bigint[], $22::timestamptz[], $23::text[])
    as i(order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
         product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, version)
),
recorded as (
  insert into order_events (event_id, order_id, type, ts, data)
  select event_id, order_id, type, ts, data::jsonb from events order by n
  on conflict do nothing returning 1
),
updated as (
  update orders o set quantity = i.quantity, order_type = i.order_type, price = i.price, trigger_price = i.trigger_price,
                      status = i.status, reason_code = i.reason_code, message = i.message,
                      filled_quantity = i.filled_quantity, filled_value = i.filled_value, updated_at = now()
    from input i where i.version is not null and o.order_id = i.order_id and o.xmin::text = i.version
  returning 1
),
inserted as (
  insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
                      product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, updated_at)
  select order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
         product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, now()
    from input where version is null order by order_id
  on conflict (order_id) do nothing
  returning 1
)
select unchanged_since_read(
         (select count(*) from recorded) = $24 and (select count(*) from updated) + (select count(*) from inserted) = $25,
         'the orders or their events changed while the orders projection folded them; read again') as saved`;

/** The order an event belongs to and the event as recorded in its history. */
export interface RecordedEvent {
  orderId: string;
  event: AnyEnvelope;
}

/** What a fold starts from: the orders as they are (with the version each was read at), and which events are recorded already. */
export interface FoldInput {
  orders: Map<string, Order>;
  versions: Map<string, string>;
  recorded: Set<string>;
}

type OrderRow = Omit<Order, "instrument_token" | "price" | "trigger_price" | "filled_value"> & {
  instrument_token: string;
  price: string | null;
  trigger_price: string | null;
  filled_value: string;
  version: string;
};

const numberOrNull = (text: string | null): number | null => (text === null ? null : Number(text));

/**
 * The orders with these ids that exist, the version each was read at, and which of these events
 * are recorded already (by the id as the caller spelt it).
 *
 * @example
 * const input = await readFoldInput(db, ["ord-1"], [eventId]);
 */
export async function readFoldInput(db: Db, orderIds: readonly string[], eventIds: readonly string[]): Promise<FoldInput> {
  const [rows, recordedRows] = await Promise.all([
    orderIds.length > 0 ? db.query<OrderRow>(READ, [orderIds], EACH_TIME) : Promise.resolve([]),
    eventIds.length > 0 ? db.query<{ event_id: string }>(RECORDED, [eventIds], EACH_TIME) : Promise.resolve([]),
  ]);
  const orders = new Map<string, Order>();
  const versions = new Map<string, string>();
  for (const { version, ...r } of rows) {
    orders.set(r.order_id, { ...r, instrument_token: Number(r.instrument_token), price: numberOrNull(r.price), trigger_price: numberOrNull(r.trigger_price), filled_value: Number(r.filled_value) });
    versions.set(r.order_id, version);
  }
  // The database spells a uuid in lower case; the ids are given back as the caller spelt them.
  const given = new Map(eventIds.map((id) => [id.toLowerCase(), id]));
  return { orders, versions, recorded: new Set(recordedRows.map((r) => given.get(r.event_id) ?? r.event_id)) };
}

/**
 * Records `events` (none of them recorded when read) and saves the orders' new states: an order
 * with a version in `versions` is updated if still at that version, the others are made. All or
 * nothing: when anything changed since the read, nothing is written and it throws with code 40001.
 *
 * @example
 * await saveFold(db, freshEvents, foldBatch(input.orders, batch, (id) => !input.recorded.has(id)), input.versions);
 */
export async function saveFold(db: Db, events: readonly RecordedEvent[], orders: ReadonlyMap<string, Order>, versions: ReadonlyMap<string, string>): Promise<void> {
  if (events.length === 0) return;
  const list = [...orders.values()];
  const column = <T>(pick: (o: Order) => T) => list.map(pick);
  await db.query(SAVE, [
    events.map((r) => r.event.id),
    events.map((r) => r.orderId),
    events.map((r) => r.event.type),
    events.map((r) => r.event.ts),
    events.map((r) => JSON.stringify(r.event.data)),
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
    column((o) => versions.get(o.order_id) ?? null),
    events.length,
    list.length,
  ], EACH_TIME);
}
