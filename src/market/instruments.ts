/**
 * The instrument master the feeds and risk use: real NSE equities with their Kite instrument
 * tokens, tick sizes and lot sizes (prices in paise). The Kite issue replaces this built-in list
 * with Kite's instrument dump loaded into PostgreSQL; the shape stays.
 */
import type { Paise } from "../money.ts";

export interface Instrument {
  instrument_token: number;
  exchange: "NSE" | "BSE" | "NFO";
  tradingsymbol: string;
  name: string;
  /** Smallest price step, paise. */
  tick_size: Paise;
  /** Quantities are multiples of this. */
  lot_size: number;
  /** A plausible recent price, paise: where the simulated feed starts. */
  reference_price: Paise;
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

const byToken = new Map(NSE_INSTRUMENTS.map((i) => [i.instrument_token, i]));
const bySymbol = new Map(NSE_INSTRUMENTS.map((i) => [`${i.exchange}:${i.tradingsymbol}`, i]));

/** O(1) lookups by token or by "EXCHANGE:SYMBOL". */
export const instruments = {
  all: (): readonly Instrument[] => NSE_INSTRUMENTS,
  byToken: (token: number): Instrument | undefined => byToken.get(token),
  bySymbol: (exchange: string, symbol: string): Instrument | undefined => bySymbol.get(`${exchange}:${symbol}`),
};
