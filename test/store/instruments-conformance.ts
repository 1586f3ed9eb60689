/**
 * The instrument master's repository (src/store/instruments.ts) on every store adapter: rows read
 * back exactly as written (optional fields absent, tokens past 2^31), an upsert updates by token,
 * a dump larger than one statement's chunk goes in whole, and (exchange, symbol) stays unique.
 */
import { describe, expect, test } from "bun:test";
import type { Instrument } from "../../src/market/instruments.ts";
import type { Store } from "../../src/store/index.ts";
import { sqlState, suiteStore } from "./suite-store.ts";
import { countInstruments, listInstruments, upsertInstruments } from "../../src/store/instruments.ts";

const RELIANCE: Instrument = { instrument_token: 738561, exchange: "NSE", tradingsymbol: "RELIANCE", name: "RELIANCE INDUSTRIES", tick_size: 5, lot_size: 1, reference_price: 129_045 };
const byToken = (list: Instrument[]) => [...list].sort((a, b) => a.instrument_token - b.instrument_token);

const NIFTY_FUT: Instrument = {
  instrument_token: 4_294_967_295,
  exchange_token: 16_777_215,
  exchange: "NFO",
  tradingsymbol: "NIFTY26DECFUT",
  name: "NIFTY",
  segment: "NFO-FUT",
  instrument_type: "FUT",
  expiry: "2026-12-31",
  strike: "0",
  tick_size: 10,
  lot_size: 75,
  reference_price: 2_612_350,
};

export function instrumentsConformance(name: string, open: () => Promise<Store>): void {
  describe(`instruments: ${name}`, () => {
    const opened = suiteStore(open);

    test("a fresh master is empty; written rows read back exactly, optional fields absent where not given", async () => {
      expect(await countInstruments(opened.db)).toBe(0);
      expect(await listInstruments(opened.db)).toEqual([]);
      expect(await upsertInstruments(opened.db, [NIFTY_FUT, RELIANCE])).toBe(2);
      const listed = byToken(await listInstruments(opened.db));
      expect(listed).toEqual([RELIANCE, NIFTY_FUT]);
      expect(Object.entries(listed[0]!).filter(([, v]) => v !== undefined).map(([k]) => k).sort()).toEqual(Object.keys(RELIANCE).sort());
      expect(await countInstruments(opened.db)).toBe(2);
    });

    test("an upsert updates by token in place", async () => {
      await upsertInstruments(opened.db, [{ ...RELIANCE, name: "RELIANCE IND", reference_price: 99_995, tick_size: 10 }]);
      expect(await countInstruments(opened.db)).toBe(2);
      expect((await listInstruments(opened.db)).find((i) => i.instrument_token === RELIANCE.instrument_token)).toEqual({
        ...RELIANCE,
        name: "RELIANCE IND",
        reference_price: 99_995,
        tick_size: 10,
      });
    });

    test("a dump larger than one statement's chunk goes in whole", async () => {
      const dump = Array.from({ length: 2_500 }, (_, i): Instrument => ({ ...RELIANCE, instrument_token: 10_000_000 + i, tradingsymbol: `SYM${i}`, name: `S ${i}` }));
      expect(await upsertInstruments(opened.db, dump)).toBe(2_500);
      expect(await countInstruments(opened.db)).toBe(2_502);
      const listed = byToken(await listInstruments(opened.db));
      expect(listed.filter((i) => i.instrument_token >= 10_000_000 && i.instrument_token < 20_000_000).map((i) => i.tradingsymbol)).toEqual(dump.map((i) => i.tradingsymbol));
    });

    test("another token with an exchange's symbol already taken is refused", async () => {
      expect(await sqlState(upsertInstruments(opened.db, [{ ...RELIANCE, instrument_token: 1 }]))).toBe("23505");
      expect((await listInstruments(opened.db)).some((i) => i.instrument_token === 1)).toBe(false);
    });
  });
}
