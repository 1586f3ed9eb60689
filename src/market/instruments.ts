/**
 * The instrument master the feeds, risk, execution and the API use: a value made from a list,
 * passed to whatever needs it. Each process and worker reads the `instruments` table once at
 * start (filled from Kite's instrument dump, or from the sample in instruments-sample.csv) and
 * makes its master with {@link instrumentMaster}; pure code and unit tests use
 * {@link NSE_MASTER}, the built-in NSE equities (the same rows as the sample), and need no database.
 */
import type { Paise } from "../money.ts";

export interface Instrument {
  instrument_token: number;
  exchange: string;
  tradingsymbol: string;
  name: string;
  /** Smallest price step, paise. */
  tick_size: Paise;
  /** Quantities are multiples of this. */
  lot_size: number;
  /** A plausible recent price, paise: where the simulated feed starts (Kite's last_price). */
  reference_price: Paise;
  exchange_token?: number;
  /** Kite's segment: NSE, BSE, NFO-FUT, CDS-FUT, INDICES, … */
  segment?: string;
  /** EQ, FUT, CE, PE. */
  instrument_type?: string;
  /** YYYY-MM-DD for derivatives. */
  expiry?: string;
  /** The strike as Kite writes it (a decimal string), for options. */
  strike?: string;
}

const eq = (instrument_token: number, tradingsymbol: string, name: string, reference_price: Paise): Instrument => ({
  instrument_token,
  exchange: "NSE",
  tradingsymbol,
  name,
  tick_size: 5,
  lot_size: 1,
  reference_price,
});

export const NSE_INSTRUMENTS: readonly Instrument[] = [
  eq(738561, "RELIANCE", "RELIANCE INDUSTRIES", 129_045),
  eq(2953217, "TCS", "TATA CONSULTANCY SERV", 412_005),
  eq(408065, "INFY", "INFOSYS", 188_520),
  eq(341249, "HDFCBANK", "HDFC BANK", 174_330),
  eq(1270529, "ICICIBANK", "ICICI BANK", 129_810),
  eq(779521, "SBIN", "STATE BANK OF INDIA", 81_265),
  eq(424961, "ITC", "ITC", 47_615),
  eq(2939649, "LT", "LARSEN & TOUBRO", 361_250),
  eq(1510401, "AXISBANK", "AXIS BANK", 116_740),
  eq(492033, "KOTAKBANK", "KOTAK MAHINDRA BANK", 178_955),
  eq(2714625, "BHARTIARTL", "BHARTI AIRTEL", 161_020),
  eq(356865, "HINDUNILVR", "HINDUSTAN UNILEVER", 238_775),
  eq(81153, "BAJFINANCE", "BAJAJ FINANCE", 712_460),
  eq(2815745, "MARUTI", "MARUTI SUZUKI INDIA", 1_126_590),
  eq(60417, "ASIANPAINT", "ASIAN PAINTS", 241_580),
  eq(884737, "TATAMOTORS", "TATA MOTORS", 78_945),
  eq(969473, "WIPRO", "WIPRO", 29_810),
  eq(857857, "SUNPHARMA", "SUN PHARMACEUTICAL IND", 176_430),
  eq(897537, "TITAN", "TITAN COMPANY", 336_215),
  eq(2952193, "ULTRACEMCO", "ULTRATECH CEMENT", 1_148_800),
];

/** What a simulated feed can trade: a tick grid, a lot size and a price to start from. */
export const simulatable = (i: Instrument): boolean => i.tick_size > 0 && i.lot_size > 0 && i.reference_price > 0 && i.segment !== "INDICES";

/** The instruments a process knows, with O(1) lookups by token or by exchange and symbol. */
export interface InstrumentMaster {
  all(): readonly Instrument[];
  byToken(token: number): Instrument | undefined;
  bySymbol(exchange: string, symbol: string): Instrument | undefined;
}

/**
 * A master over `list` (copied: later changes to the list do not reach it). Its methods are
 * closures, so `master.byToken` may be passed on alone.
 *
 * @example
 * const master = instrumentMaster(await readInstruments(db));
 * master.bySymbol("NSE", "INFY")?.instrument_token; // 408065
 */
export function instrumentMaster(list: readonly Instrument[]): InstrumentMaster {
  const all: readonly Instrument[] = Object.freeze([...list]);
  const tokens = new Map(all.map((i) => [i.instrument_token, i]));
  const symbols = new Map(all.map((i) => [`${i.exchange}:${i.tradingsymbol}`, i]));
  return {
    all: () => all,
    byToken: (token) => tokens.get(token),
    bySymbol: (exchange, symbol) => symbols.get(`${exchange}:${symbol}`),
  };
}

/** The built-in NSE equities as a master: for pure code's tests and tools without a database. */
export const NSE_MASTER: InstrumentMaster = instrumentMaster(NSE_INSTRUMENTS);
