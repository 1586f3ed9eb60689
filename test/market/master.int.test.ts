/**
 * The instrument master in the real database (PGlite and PostgreSQL): the sample fills an empty
 * master, a reload updates rows in place, and what is read back is what was parsed.
 */
import { describe, expect, test } from "bun:test";
import { parseInstrumentsCsv } from "../../src/market/kite-csv.ts";
import { readInstruments, SAMPLE_CSV, upsertInstruments } from "../../src/market/master.ts";
import { sqlDb } from "../../src/store/db.ts";
import { onBothStores, type OpenStore } from "../support/both-stores.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

function suite(name: string, open: OpenStore) {
  describe(`instrument master: ${name}`, () => {
    test("an empty master is filled from the sample and reads back exactly", async () => {
      const { store, done } = await open();
      try {
        const db = sqlDb(store.sql);
        const read = await readInstruments(db);
        const parsed = parseInstrumentsCsv(await Bun.file(SAMPLE_CSV).text(), "sample").instruments;
        const strip = (list: typeof read) => [...list].sort((a, b) => a.instrument_token - b.instrument_token).map((i) => JSON.parse(JSON.stringify(i)));
        expect(strip(read)).toEqual(strip(parsed));
        // Loading again updates in place: same count, new price.
        await upsertInstruments(db, [{ ...parsed[0]!, reference_price: 99_995 }]);
        const again = await readInstruments(db);
        expect(again.length).toBe(read.length);
        expect(again.find((i) => i.instrument_token === parsed[0]!.instrument_token)?.reference_price).toBe(99_995);
      } finally {
        await done();
      }
    });
  });
}

await onBothStores(suite);
