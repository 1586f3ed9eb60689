/**
 * The instrument master in PostgreSQL: loading Kite's dump into it, and reading it back into
 * `instruments` at start. On a database with an empty master the shipped sample is loaded, so a
 * first start (embedded or not) trades the same instruments the simulated feed prices.
 */
import type { Db } from "../store/db.ts";
import { countInstruments, listInstruments, upsertInstruments } from "../store/instruments.ts";
import { parseInstrumentsCsv } from "./kite-csv.ts";
import type { Instrument } from "./instruments.ts";

// The statements live in the store; re-exported for the loaders that fill the master.
export { upsertInstruments } from "../store/instruments.ts";

export const SAMPLE_CSV = new URL("./instruments-sample.csv", import.meta.url).pathname;

/** Loads a Kite instrument CSV into the master. */
export async function loadInstrumentsCsv(db: Db, path: string) {
  const parsed = parseInstrumentsCsv(await Bun.file(path).text(), path);
  await upsertInstruments(db, parsed.instruments);
  return parsed;
}

/** Reads the whole master; fills it from the sample first when it is empty. */
export async function readInstruments(db: Db): Promise<Instrument[]> {
  if ((await countInstruments(db)) === 0) await loadInstrumentsCsv(db, SAMPLE_CSV);
  return listInstruments(db);
}
