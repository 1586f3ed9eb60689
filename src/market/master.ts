/**
 * The instrument master in PostgreSQL: loading Kite's dump into it, and reading it back into
 * `instruments` at start. On a database with an empty master the shipped sample is loaded, so a
 * first start (embedded or not) trades the same instruments the simulated feed prices.
 */
import type { Db } from "../store/db.ts";
import { parseInstrumentsCsv } from "./kite-csv.ts";
import type { Instrument } from "./instruments.ts";

export const SAMPLE_CSV = new URL("./instruments-sample.csv", import.meta.url).pathname;

const UPSERT = `
insert into instruments (instrument_token, exchange_token, tradingsymbol, name, exchange, segment, instrument_type, expiry, strike, tick_size, lot_size, last_price, updated_at)
select * , now() from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::date[], $9::text[], $10::bigint[], $11::int[], $12::bigint[])
on conflict (instrument_token) do update set exchange_token = excluded.exchange_token, tradingsymbol = excluded.tradingsymbol, name = excluded.name,
  exchange = excluded.exchange, segment = excluded.segment, instrument_type = excluded.instrument_type, expiry = excluded.expiry,
  strike = excluded.strike, tick_size = excluded.tick_size, lot_size = excluded.lot_size, last_price = excluded.last_price, updated_at = now()`;

/** Inserts or updates instruments (1,000 rows a statement). */
export async function upsertInstruments(db: Db, list: readonly Instrument[]): Promise<number> {
  for (let i = 0; i < list.length; i += 1000) {
    const chunk = list.slice(i, i + 1000);
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

/** Loads a Kite instrument CSV into the master. */
export async function loadInstrumentsCsv(db: Db, path: string) {
  const parsed = parseInstrumentsCsv(await Bun.file(path).text(), path);
  await upsertInstruments(db, parsed.instruments);
  return parsed;
}

/** Reads the whole master; fills it from the sample first when it is empty. */
export async function readInstruments(db: Db): Promise<Instrument[]> {
  const [count] = await db.query<{ n: number }>("select count(*)::int as n from instruments");
  if (!count || count.n === 0) await loadInstrumentsCsv(db, SAMPLE_CSV);
  const rows = await db.query<Record<string, string | null>>(
    `select instrument_token::text, exchange_token::text, tradingsymbol, name, exchange, segment, instrument_type, expiry::text, strike,
            tick_size::text, lot_size::text, last_price::text from instruments order by instrument_token`,
  );
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
