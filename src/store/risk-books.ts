/**
 * The risk stage's own state (`risk_books` of migration 0012), one row per broker and instrument:
 * the stage saves the rows a batch changed once the batch's outputs are acknowledged, and loads
 * its instruments' rows at start and after a rebalance. Only the risk stage reads or writes it.
 */
import type { Broker } from "../config.ts";
import type { Db } from "./db.ts";

/** Where a message sat in its topic. */
export interface SavedPosition {
  partition: number;
  offset: number;
}

/** One instrument's risk state, as saved. `P` is the portfolio's Position. */
export interface SavedRiskBook<P = unknown> {
  token: number;
  day: string | null;
  day_open: number;
  positions: P[];
  orders_today: Record<string, number>;
  recent: number[];
  fill: SavedPosition | null;
  signal: SavedPosition | null;
  clock: number;
  /** The day's end: the intraday book and markers (src/risk/day-end.ts); `{}` when there is nothing. */
  day_end?: Record<string, unknown>;
}

// Rows written in one statement, so one transaction: a row that holds nothing (no position, no
// count, no recent signal) deletes its row.
const SAVE = `
with input as (
  select token, day, day_open, positions::jsonb as positions, orders_today::jsonb as orders_today, recent::jsonb as recent,
         fill_partition, fill_offset, signal_partition, signal_offset, clock, day_end::jsonb as day_end
    from unnest($2::bigint[], $3::date[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                $8::int[], $9::bigint[], $10::int[], $11::bigint[], $12::bigint[], $13::text[])
      as i(token, day, day_open, positions, orders_today, recent, fill_partition, fill_offset, signal_partition, signal_offset, clock, day_end)
), marked as (
  select *, positions = '[]'::jsonb and orders_today = '{}'::jsonb and recent = '[]'::jsonb and day_end = '{}'::jsonb as empty from input
), emptied as (
  delete from risk_books b using marked i where b.broker = $1 and b.instrument_token = i.token and i.empty
)
insert into risk_books (broker, instrument_token, day, day_open, positions, orders_today, recent, fill_partition, fill_offset, signal_partition, signal_offset, clock, day_end)
select $1, token, day, day_open, positions, orders_today, recent, fill_partition, fill_offset, signal_partition, signal_offset, clock, day_end
  from marked where not empty
on conflict (broker, instrument_token) do update set
  day = excluded.day, day_open = excluded.day_open, positions = excluded.positions, orders_today = excluded.orders_today,
  recent = excluded.recent, fill_partition = excluded.fill_partition, fill_offset = excluded.fill_offset,
  signal_partition = excluded.signal_partition, signal_offset = excluded.signal_offset, clock = excluded.clock, day_end = excluded.day_end, updated_at = now()`;

const LOAD = `select instrument_token::text as token, day::text as day, day_open::text as day_open, positions::text as positions,
       orders_today::text as orders_today, recent::text as recent, fill_partition, fill_offset::text as fill_offset,
       signal_partition, signal_offset::text as signal_offset, clock::text as clock, day_end::text as day_end
  from risk_books where broker = $1 order by instrument_token`;

const at = (partition: number | null, offset: string | null): SavedPosition | null =>
  partition === null || offset === null ? null : { partition, offset: Number(offset) };

/**
 * Saves the given rows (one that holds nothing removes its row); the rest stay as they are.
 *
 * @example
 * await saveRiskBooks(ctx.db, "paper", [row]);
 */
export async function saveRiskBooks(db: Db, broker: Broker, rows: readonly SavedRiskBook[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (r: SavedRiskBook) => T) => rows.map(f);
  await db.query(SAVE, [
    broker,
    col((r) => r.token),
    col((r) => r.day),
    col((r) => r.day_open),
    col((r) => JSON.stringify(r.positions)),
    col((r) => JSON.stringify(r.orders_today)),
    col((r) => JSON.stringify(r.recent)),
    col((r) => r.fill?.partition ?? null),
    col((r) => r.fill?.offset ?? null),
    col((r) => r.signal?.partition ?? null),
    col((r) => r.signal?.offset ?? null),
    col((r) => r.clock),
    col((r) => JSON.stringify(r.day_end ?? {})),
  ]);
}

/**
 * A broker's rows, those of the instruments `owned` accepts (all without it).
 *
 * @example
 * const rows = await loadRiskBooks<Position>(ctx.db, "paper", (token) => mine.has(token));
 */
export async function loadRiskBooks<P>(db: Db, broker: Broker, owned?: (token: number) => boolean): Promise<SavedRiskBook<P>[]> {
  const rows = await db.query<{
    token: string;
    day: string | null;
    day_open: string;
    positions: string;
    orders_today: string;
    recent: string;
    fill_partition: number | null;
    fill_offset: string | null;
    signal_partition: number | null;
    signal_offset: string | null;
    clock: string;
    day_end: string;
  }>(LOAD, [broker]);
  return rows
    .filter((r) => !owned || owned(Number(r.token)))
    .map((r) => ({
      token: Number(r.token),
      day: r.day,
      day_open: Number(r.day_open),
      positions: JSON.parse(r.positions) as P[],
      orders_today: JSON.parse(r.orders_today) as Record<string, number>,
      recent: JSON.parse(r.recent) as number[],
      fill: at(r.fill_partition, r.fill_offset),
      signal: at(r.signal_partition, r.signal_offset),
      clock: Number(r.clock),
      day_end: JSON.parse(r.day_end) as Record<string, unknown>,
    }));
}
