/**
 * The orders as the API reads them (the `orders` and `order_events` tables of migration 0002): one
 * order by id, a page of orders newest first, an order's events in lifecycle order, the open orders
 * a cancel-all cancels. The rows are written by the outbox (src/store/outbox.ts, an order the API
 * accepted) and the orders projection.
 */
import { OPEN_STATUSES, PRODUCTS, type OrderStatus, type Product } from "../orders/vocabulary.ts";
import type { Sql } from "postgres";
import type { Broker } from "../config.ts";
import type { PayloadOf } from "../events/payloads.ts";
import { prepared } from "./db.ts";

type Row = Record<string, unknown>;
type Signal = PayloadOf<"signal.generated">;

/** The columns {@link storedOrder} reads; int8 and bigint money as text (int8 exceeds 2^53). */
export const ORDER_COLUMNS = `order_id, seq, broker, strategy_id, instrument_token::text, side, quantity, filled_quantity, filled_value::text,
  order_type, price::text, trigger_price::text, status, reason_code, message, client_order_id, correlation_id, created_at, updated_at`;

/** An order row: money in paise, times as ISO strings. */
export interface StoredOrder {
  order_id: string;
  /** Insertion order: the key of the newest-first pages. */
  seq: number;
  broker: Broker;
  strategy_id: string;
  instrument_token: number;
  side: Signal["side"];
  quantity: number;
  filled_quantity: number;
  /** Σ fill quantity × fill price, paise. */
  filled_value: number;
  order_type: Signal["order_type"];
  price?: number;
  trigger_price?: number;
  status: OrderStatus;
  reason_code?: string;
  message?: string;
  client_order_id?: string;
  correlation_id: string;
  created_at: string;
  updated_at: string;
}

const numberOrUndefined = (value: unknown) => (value === null || value === undefined ? undefined : Number(value));
const textOrUndefined = (value: unknown) => (value === null || value === undefined ? undefined : String(value));

/**
 * A row selected with {@link ORDER_COLUMNS} as a {@link StoredOrder}.
 *
 * @example
 * const [row] = await insertOrder(sql, order, first, message, leaseMs);
 * storedOrder(row).status; // "PENDING"
 */
export function storedOrder(row: Row): StoredOrder {
  return {
    order_id: String(row.order_id),
    seq: Number(row.seq),
    broker: row.broker as Broker,
    strategy_id: String(row.strategy_id),
    instrument_token: Number(row.instrument_token),
    side: row.side as Signal["side"],
    quantity: Number(row.quantity),
    filled_quantity: Number(row.filled_quantity),
    filled_value: Number(row.filled_value),
    order_type: row.order_type as Signal["order_type"],
    price: numberOrUndefined(row.price),
    trigger_price: numberOrUndefined(row.trigger_price),
    status: row.status as OrderStatus,
    reason_code: textOrUndefined(row.reason_code),
    message: textOrUndefined(row.message),
    client_order_id: textOrUndefined(row.client_order_id),
    correlation_id: String(row.correlation_id),
    created_at: new Date(row.created_at as string).toISOString(),
    updated_at: new Date(row.updated_at as string).toISOString(),
  };
}

/**
 * One order, or undefined.
 *
 * @example
 * const order = await orderById(store.sql, orderId);
 */
export async function orderById(sql: Sql, orderId: string): Promise<StoredOrder | undefined> {
  const [row] = await prepared(sql, `select ${ORDER_COLUMNS} from orders where order_id = $1`, [orderId]);
  return row ? storedOrder(row) : undefined;
}

/** Which orders a page holds: each filter given narrows it; `beforeSeq` starts it below a previous page. */
export interface OrderFilter {
  broker?: Broker;
  status?: string;
  strategy_id?: string;
  beforeSeq?: number;
  limit: number;
}

/**
 * Up to `limit` orders, newest first.
 *
 * @example
 * const page = await ordersPage(store.sql, { broker: "paper", limit: 51 });
 * const next = await ordersPage(store.sql, { broker: "paper", beforeSeq: page.at(-1)!.seq, limit: 51 });
 */
export async function ordersPage(sql: Sql, filter: OrderFilter): Promise<StoredOrder[]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const narrow = (column: string, operator: string, value: unknown) => {
    params.push(value);
    conditions.push(`${column} ${operator} $${params.length}`);
  };
  if (filter.broker) narrow("broker", "=", filter.broker);
  if (filter.status) narrow("status", "=", filter.status);
  if (filter.strategy_id) narrow("strategy_id", "=", filter.strategy_id);
  if (filter.beforeSeq !== undefined) narrow("seq", "<", filter.beforeSeq);
  params.push(filter.limit);
  const where = conditions.length ? `where ${conditions.join(" and ")}` : "";
  const rows = await prepared(sql, `select ${ORDER_COLUMNS} from orders ${where} order by seq desc limit $${params.length}`, params);
  return rows.map(storedOrder);
}

/** One event of an order's lifecycle, as recorded. */
export interface StoredOrderEvent {
  id: string;
  type: string;
  ts: string;
  data: unknown;
}

/**
 * An order's events, in the order its lifecycle made them: by time, and within one millisecond
 * (submitted and filled at once) by the lifecycle's own order.
 *
 * @example
 * const events = await orderEvents(store.sql, orderId); // [signal.generated, signal.validated, order.submitted, …]
 */
export async function orderEvents(sql: Sql, orderId: string): Promise<StoredOrderEvent[]> {
  const rows = await prepared(
    sql,
    `select event_id::text as id, type, ts, data from order_events where order_id = $1
      order by ts, case type when 'signal.generated' then 0 when 'signal.validated' then 1 when 'signal.rejected' then 1
                             when 'order.submitted' then 2 when 'order.filled' then 3 else 4 end, event_id`,
    [orderId],
  );
  return rows.map((row) => ({ id: String(row.id), type: String(row.type), ts: new Date(row.ts as string).toISOString(), data: row.data }));
}

/** Which open orders {@link openOrders} reads: each filter given narrows them. */
export interface OpenOrderFilter {
  broker?: Broker;
  strategy_id?: string;
  instrument_token?: number;
}

/**
 * Every order not yet final (PENDING, OPEN, PARTIALLY_FILLED) that matches, oldest first: what a
 * cancel-all cancels.
 *
 * @example
 * const resting = await openOrders(store.sql, { broker: "paper", instrument_token: 738561 });
 */
export async function openOrders(sql: Sql, filter: OpenOrderFilter): Promise<StoredOrder[]> {
  const params: unknown[] = [[...OPEN_STATUSES]];
  const conditions = ["status = any($1::text[])"];
  const narrow = (column: string, value: unknown) => {
    params.push(value);
    conditions.push(`${column} = $${params.length}`);
  };
  if (filter.broker) narrow("broker", filter.broker);
  if (filter.strategy_id) narrow("strategy_id", filter.strategy_id);
  if (filter.instrument_token !== undefined) narrow("instrument_token", filter.instrument_token);
  const rows = await prepared(sql, `select ${ORDER_COLUMNS} from orders where ${conditions.join(" and ")} order by seq`, params);
  return rows.map(storedOrder);
}

/**
 * The product (MIS, CNC, NRML) of the latest order of a strategy in an instrument, on one side,
 * that filled at least in part; undefined when it had none or named none. A square-off closes a
 * position under the product that opened it (on Kite, selling delivery shares as MIS is a short sale).
 *
 * @example
 * await lastFilledProduct(store.sql, { broker: "paper", strategy_id: "manual", instrument_token: 738561, side: "BUY" }); // "CNC"
 */
export async function lastFilledProduct(sql: Sql, of: { broker: Broker; strategy_id: string; instrument_token: number; side: Signal["side"] }): Promise<Product | undefined> {
  const [row] = await prepared(
    sql,
    `select product from orders where broker = $1 and strategy_id = $2 and instrument_token = $3 and side = $4 and filled_quantity > 0
      order by seq desc limit 1`,
    [of.broker, of.strategy_id, of.instrument_token, of.side],
  );
  const product = row?.product;
  return PRODUCTS.includes(product as Product) ? (product as Product) : undefined;
}

/**
 * How many orders a broker has had, of every status (OpenAlgo's analyzer answers the paper count).
 *
 * @example
 * await countOrders(store.sql, "paper"); // 42
 */
export async function countOrders(sql: Sql, broker: Broker): Promise<number> {
  const [row] = await prepared(sql, `select count(*)::int as n from orders where broker = $1`, [broker]);
  return Number(row?.n ?? 0);
}

/**
 * The product each of `orderIds` was placed with (an order placed with none is absent: MIS).
 * The orders view does not carry it; OpenAlgo's books answer it per order and per position.
 *
 * @example
 * await orderProducts(store.sql, ["ord_1"]); // Map { "ord_1" => "CNC" }
 */
export async function orderProducts(sql: Sql, orderIds: readonly string[]): Promise<Map<string, Product>> {
  const out = new Map<string, Product>();
  if (orderIds.length === 0) return out;
  for (let from = 0; from < orderIds.length; from += 500) {
    const ids = orderIds.slice(from, from + 500);
    const rows = await prepared(sql, `select order_id, product from orders where order_id in (${ids.map((_, i) => `$${i + 1}`).join(", ")}) and product is not null`, ids as string[]);
    for (const row of rows) if (PRODUCTS.includes(row.product as Product)) out.set(String(row.order_id), row.product as Product);
  }
  return out;
}
