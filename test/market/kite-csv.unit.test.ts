import { describe, expect, test } from "bun:test";
import { AlphaError } from "../../src/errors.ts";
import { NSE_INSTRUMENTS } from "../../src/market/instruments.ts";
import { parseInstrumentsCsv, rupeesToPaise } from "../../src/market/kite-csv.ts";
import { SAMPLE_CSV } from "../../src/market/master.ts";

const HEADER = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange";

describe("Kite instrument CSV", () => {
  test("rupee decimals become whole paise; finer than a paisa is refused", () => {
    expect(rupeesToPaise("1290.45")).toBe(129_045);
    expect(rupeesToPaise("0.05")).toBe(5);
    expect(rupeesToPaise("11488")).toBe(1_148_800);
    expect(rupeesToPaise("0.050")).toBe(5);
    expect(rupeesToPaise("0.0025")).toBeUndefined();
    expect(rupeesToPaise("-1")).toBeUndefined();
  });

  test("rows parse into the master's shape, quoted names included", () => {
    const csv = `${HEADER}\n738561,2885,RELIANCE,"RELIANCE, ""RIL"" INDUSTRIES",1290.45,,0,0.05,1,EQ,NSE,NSE\n13238786,51714,NIFTY25DECFUT,NIFTY,24350.5,2025-12-30,0,0.1,75,FUT,NFO-FUT,NFO\n`;
    const { instruments, skipped } = parseInstrumentsCsv(csv, "x.csv");
    expect(skipped).toEqual([]);
    expect(instruments[0]).toMatchObject({ instrument_token: 738561, name: 'RELIANCE, "RIL" INDUSTRIES', tick_size: 5, lot_size: 1, reference_price: 129_045, exchange: "NSE", segment: "NSE" });
    expect(instruments[1]).toMatchObject({ tradingsymbol: "NIFTY25DECFUT", tick_size: 10, lot_size: 75, expiry: "2025-12-30", instrument_type: "FUT" });
  });

  test("currency derivatives with sub-paisa ticks are left out and counted", () => {
    const csv = `${HEADER}\n2091009,8168,USDINR25DECFUT,USDINR,84.6725,2025-12-29,0,0.0025,1,FUT,CDS-FUT,CDS\n`;
    const { instruments, skipped } = parseInstrumentsCsv(csv, "x.csv");
    expect(instruments).toEqual([]);
    expect(skipped).toEqual([{ line: 2, tradingsymbol: "USDINR25DECFUT", reason: expect.stringContaining("finer than a paisa") }]);
  });

  test("a broken row stops the load with its line number; a missing column is named", () => {
    const bad = `${HEADER}\n738561,2885,RELIANCE,R,1290.45,,0,0.05,1,EQ,NSE,NSE\nabc,1,X,X,1,,0,0.05,1,EQ,NSE,NSE\n`;
    expect(() => parseInstrumentsCsv(bad, "dump.csv")).toThrow("dump.csv:3: instrument_token must be a positive integer");
    try {
      parseInstrumentsCsv("instrument_token,tradingsymbol\n1,X", "dump.csv");
    } catch (err) {
      expect(err).toBeInstanceOf(AlphaError);
      expect((err as Error).message).toContain("missing column(s) exchange_token");
    }
  });

  test("the shipped sample holds every built-in instrument, with the same grid and lot", async () => {
    const { instruments, skipped } = parseInstrumentsCsv(await Bun.file(SAMPLE_CSV).text(), "sample");
    for (const builtin of NSE_INSTRUMENTS) {
      const row = instruments.find((i) => i.instrument_token === builtin.instrument_token);
      expect(row).toMatchObject({ tradingsymbol: builtin.tradingsymbol, tick_size: builtin.tick_size, lot_size: builtin.lot_size, exchange: "NSE" });
    }
    expect(skipped.map((s) => s.tradingsymbol)).toEqual(["USDINR25DECFUT"]);
  });
});
