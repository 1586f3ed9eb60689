/**
 * The paper exchange's resting orders (`exec_books` of migration 0008), one book per broker and
 * instrument: the execution stage saves the books a batch changed once the batch's events are
 * acknowledged, and loads them all at start and after a rebalance.
 */
import type { Broker } from "../config.ts";
import type { Db } from "./db.ts";

/** One instrument's resting orders (oldest first) and the lineage of each, as the stage keeps them. */
export interface SavedBook<O = unknown, L = unknown> {
  token: number;
  orders: O[];
  /** order id → what its events carry (correlation and trace ids). */
  lineage: Record<string, L>;
}

// Books written in one statement, so one transaction: an empty book deletes its row.
const SAVE = `
with input as (
  select token, orders::jsonb as orders, lineage::jsonb as lineage
    from unnest($2::bigint[], $3::text[], $4::text[]) as i(token, orders, lineage)
), emptied as (
  delete from exec_books b using input i
   where b.broker = $1 and b.instrument_token = i.token and jsonb_array_length(i.orders) = 0
)
insert into exec_books (broker, instrument_token, orders, lineage)
select $1, token, orders, lineage from input where jsonb_array_length(orders) > 0
on conflict (broker, instrument_token) do update set orders = excluded.orders, lineage = excluded.lineage, updated_at = now()`;

const LOAD = `select instrument_token::text as token, orders::text as orders, lineage::text as lineage
  from exec_books where broker = $1 order by instrument_token`;

/**
 * Saves the given books (an empty `orders` removes the instrument's book); the rest stay as they are.
 *
 * @example
 * await saveBooks(ctx.db, "paper", [{ token: 738561, orders: book, lineage: { o1: { correlation_id, trace_id } } }]);
 */
export async function saveBooks(db: Db, broker: Broker, books: readonly SavedBook[]): Promise<void> {
  if (books.length === 0) return;
  await db.query(SAVE, [broker, books.map((b) => b.token), books.map((b) => JSON.stringify(b.orders)), books.map((b) => JSON.stringify(b.lineage))]);
}

/**
 * Every instrument's resting orders of a broker.
 *
 * @example
 * for (const b of await loadBooks(ctx.db, "paper")) state.book[String(b.token)] = b.orders;
 */
export async function loadBooks<O, L>(db: Db, broker: Broker): Promise<SavedBook<O, L>[]> {
  const rows = await db.query<{ token: string; orders: string; lineage: string }>(LOAD, [broker]);
  return rows.map((r) => ({ token: Number(r.token), orders: JSON.parse(r.orders) as O[], lineage: JSON.parse(r.lineage) as Record<string, L> }));
}
