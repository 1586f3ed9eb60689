/**
 * The orders of an OpenAlgo instance (`openalgo_orders`, migration 0018), written from its order
 * events (src/openalgo-events/source.ts) and read by the API as a read-only source. A message
 * updates its order only when it is not older than the one shown; a field it leaves out keeps what
 * an earlier message said; a final status (FILLED, CANCELLED, REJECTED) is not left for OPEN.
 */
import type { OpenAlgoOrder } from "../openalgo-events/receive.ts";
import type { Db } from "./db.ts";

const COLUMNS = ["order_id", "user_id", "symbol", "exchange", "side", "quantity", "price", "trigger_price", "order_type", "product", "status", "openalgo_status", "mode", "broker", "strategy", "filled_quantity", "average_price", "event_ts", "event_type"] as const;
const KEPT = ["exchange", "quantity", "price", "trigger_price", "order_type", "product", "openalgo_status", "mode", "broker", "strategy", "filled_quantity", "average_price"] as const;

const UPSERT = `
insert into openalgo_orders (${COLUMNS.join(", ")})
values (${COLUMNS.map((c, i) => (c === "event_ts" ? `$${i + 1}::timestamptz` : `$${i + 1}`)).join(", ")})
on conflict (order_id) do update set
  user_id = excluded.user_id, symbol = excluded.symbol, side = excluded.side,
  ${KEPT.map((c) => `${c} = coalesce(excluded.${c}, openalgo_orders.${c})`).join(",\n  ")},
  status = case when excluded.status = 'OPEN' and openalgo_orders.status <> 'OPEN' then openalgo_orders.status else excluded.status end,
  event_ts = excluded.event_ts, event_type = excluded.event_type, updated_at = now()
 where openalgo_orders.event_ts <= excluded.event_ts
returning order_id`;

const SELECT = `select ${COLUMNS.filter((c) => c !== "event_ts").join(", ")}, seq::text as seq, to_char(event_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as event_ts,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_at
  from openalgo_orders`;

/** A stored OpenAlgo order, as the API shows it. */
export type StoredOpenAlgoOrder = OpenAlgoOrder & { seq: number; created_at: string; updated_at: string };

const NUMBERS = ["quantity", "price", "trigger_price", "filled_quantity", "average_price"] as const;

function stored(row: Record<string, unknown>): StoredOpenAlgoOrder {
  const order = { ...row, seq: Number(row.seq) } as unknown as StoredOpenAlgoOrder;
  for (const k of NUMBERS) (order as unknown as Record<string, unknown>)[k] = row[k] === null || row[k] === undefined ? null : Number(row[k]);
  return order;
}

/**
 * Writes what a message says of its order; false when a newer message was already shown (nothing changed).
 *
 * @example
 * await saveOpenAlgoOrder(db, received.order);
 */
export async function saveOpenAlgoOrder(db: Db, order: OpenAlgoOrder): Promise<boolean> {
  const rows = await db.query(UPSERT, COLUMNS.map((c) => order[c]));
  return rows.length > 0;
}

/** One order by OpenAlgo's orderid. */
export async function openAlgoOrderById(db: Db, orderId: string): Promise<StoredOpenAlgoOrder | undefined> {
  const [row] = await db.query(`${SELECT} where order_id = $1`, [orderId]);
  return row && stored(row);
}

/** The newest first, `limit` of them, below `beforeSeq` when given (the next page). */
export async function openAlgoOrdersPage(db: Db, filter: { limit: number; beforeSeq?: number; status?: string }): Promise<StoredOpenAlgoOrder[]> {
  const rows = await db.query(`${SELECT} where ($1::bigint is null or seq < $1) and ($2::text is null or status = $2) order by seq desc limit $3`, [filter.beforeSeq ?? null, filter.status ?? null, filter.limit]);
  return rows.map(stored);
}
