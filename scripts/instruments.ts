/**
 * `bun run instruments:load <instruments.csv>`: loads Kite's instrument dump (or any file in its
 * columns) into the instrument master in PostgreSQL (DATABASE_URL). Gateways read the master at
 * start. Instruments whose tick size is finer than a paisa are left out and listed.
 */
import { loadInstrumentsCsv } from "../src/market/master.ts";
import { openStore } from "../src/store/index.ts";
import { sqlDb } from "../src/store/db.ts";

const file = process.argv[2];
const url = process.env.DATABASE_URL;
if (!file || !url) {
  console.error("usage: DATABASE_URL=postgres://… bun run instruments:load <instruments.csv>");
  console.error(!url ? "DATABASE_URL is not set (the local one is postgres://alpha:alpha@127.0.0.1:15432/alpha)" : "name the CSV file");
  process.exit(2);
}
const store = await openStore({ databaseUrl: url });
try {
  const { instruments, skipped } = await loadInstrumentsCsv(sqlDb(store.sql), file);
  console.log(`loaded ${instruments.length} instruments from ${file}`);
  if (skipped.length > 0) console.log(`left out ${skipped.length} (tick size finer than a paisa), e.g. ${skipped.slice(0, 3).map((s) => s.tradingsymbol).join(", ")}`);
} catch (err) {
  console.error(`instruments:load: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await store.close();
}
