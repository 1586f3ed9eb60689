/**
 * The instrument master's table (`instruments`, migration 0005): Kite's instrument dump, prices
 * and tick sizes in paise. Filling an empty master from the sample is src/market/master.ts's.
 */
import type { Instrument } from "../market/instruments.ts";
import type { Db } from "./db.ts";

const UPSERT = `
insert into instruments (instrument_token, exchange_token, tradingsymbol, name, exchange, segment, instrument_type, expiry, strike, tick_size, lot_size, last_price, updated_at)
select * , now() from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::date[], $9::text[], $10::bigint[], $11::int[], $12::bigint[])
on conflict (instrument_token) do update set exchange_token = excluded.exchange_token, tradingsymbol = excluded.tradingsymbol, name = excluded.name,
  exchange = excluded.exchange, segment = excluded.segment, instrument_type = excluded.instrument_type, expiry = excluded.expiry,
  strike = excluded.strike, tick_size = excluded.tick_size, lot_size = excluded.lot_size, last_price = excluded.last_price, updated_at = now()`;

const LIST = `select instrument_token::text, exchange_token::text, tradingsymbol, name, exchange, segment, instrument_type, expiry::text, strike,
       tick_size::text, lot_size::text, last_price::text from instruments order by instrument_token`;

/** Rows a statement: a dump of ~100,000 instruments goes in chunks. */
const CHUNK = 1000;

/**
 * Inserts or updates instruments by token (1,000 rows a statement); how many were given.
 *
 * @example
 * await upsertInstruments(db, parseInstrumentsCsv(text, path).instruments);
 */
export async function upsertInstruments(db: Db, list: readonly Instrument[]): Promise<number> {
  for (let i = 0; i < list.length; i += CHUNK) {
    const chunk = list.slice(i, i + CHUNK);
    const col = <T>(f: (x: Instrument) => T) => chunk.map(f);
    await db.query(UPSERT, [
      col((x) => x.instrument_token),
      col((x) => x.exchange_token ?? null),
      col((x) => x.tradingsymbol),
      col((x) => x.name),
      col((x) => x.exchange),
      col((x) => x.segment ?? null),
      col((x) => x.instrument_type ?? null),
      col((x) => x.expiry ?? null),
      col((x) => x.strike ?? null),
      col((x) => x.tick_size),
      col((x) => x.lot_size),
      col((x) => x.reference_price),
    ]);
  }
  return list.length;
}

/**
 * How many instruments the master holds.
 *
 * @example
 * if ((await countInstruments(db)) === 0) await loadInstrumentsCsv(db, SAMPLE_CSV);
 */
export async function countInstruments(db: Db): Promise<number> {
  const [row] = await db.query<{ n: number }>("select count(*)::int as n from instruments");
  return row?.n ?? 0;
}

/**
 * The whole master, ordered by the token's decimal text (the column is cast before the sort).
 *
 * @example
 * const master = await listInstruments(db);
 */
export async function listInstruments(db: Db): Promise<Instrument[]> {
  const rows = await db.query<Record<string, string | null>>(LIST);
  return rows.map((r) => ({
    instrument_token: Number(r.instrument_token),
    exchange_token: r.exchange_token ? Number(r.exchange_token) : undefined,
    tradingsymbol: String(r.tradingsymbol),
    name: String(r.name),
    exchange: String(r.exchange),
    segment: r.segment ?? undefined,
    instrument_type: r.instrument_type ?? undefined,
    expiry: r.expiry ?? undefined,
    strike: r.strike ?? undefined,
    tick_size: Number(r.tick_size),
    lot_size: Number(r.lot_size),
    reference_price: Number(r.last_price),
  }));
}
