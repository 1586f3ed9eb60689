/**
 * OpenAlgo's symbol format over our instrument master (Kite's). OpenAlgo names an equity by its
 * trading symbol (INFY), a future `<name><DDMMMYY>FUT` (BANKNIFTY24APR24FUT), an option
 * `<name><DDMMMYY><strike><CE|PE>` (NIFTY28MAR2420800CE, VEDL25APR24292.5CE), and an index by a
 * short name on NSE_INDEX / BSE_INDEX (NIFTY, BANKNIFTY, SENSEX). These are the names its clients
 * send and expect back, so the OpenAlgo API (gateway/openalgo), the webhooks and the OpenAlgo event
 * bridge (src/openalgo-events) all name instruments through this one module.
 */
import type { Instrument } from "./instruments.ts";

/** The exchanges OpenAlgo names (its OpenAPI document's list, and the index exchanges). */
export const OA_EXCHANGES = ["NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NCDEX", "NSE_INDEX", "BSE_INDEX", "MCX_INDEX", "CDS_INDEX"] as const;
export type OaExchange = (typeof OA_EXCHANGES)[number];

/** Kite's index trading symbols whose OpenAlgo names are not simply the symbol without spaces. */
const INDEX_NAMES: Readonly<Record<string, string>> = {
  "NIFTY 50": "NIFTY",
  "NIFTY NEXT 50": "NIFTYNXT50",
  "NIFTY FIN SERVICE": "FINNIFTY",
  "NIFTY BANK": "BANKNIFTY",
  "NIFTY MID SELECT": "MIDCPNIFTY",
  "INDIA VIX": "INDIAVIX",
};

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** "2024-03-28" → "28MAR24"; undefined when it is not a date. */
function expiryCode(expiry: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(expiry ?? "");
  const month = m && MONTHS[Number(m[2]) - 1];
  return m && month ? `${m[3]}${month}${m[1]!.slice(2)}` : undefined;
}

/** "20800" / "20800.0" / "292.50" → "20800" / "20800" / "292.5": the strike as OpenAlgo writes it. */
function strikeCode(strike: string | undefined): string | undefined {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(strike ?? "");
  if (!m) return undefined;
  const frac = (m[2] ?? "").replace(/0+$/, "");
  return frac ? `${m[1]}.${frac}` : m[1];
}

/** True for an index (Kite's segment INDICES): it has quotes but cannot be traded. */
export const isIndex = (i: Instrument): boolean => i.segment === "INDICES";

/**
 * The exchange OpenAlgo names an instrument by: its own, or `<exchange>_INDEX` for an index.
 *
 * @example
 * openAlgoExchange(nifty50); // "NSE_INDEX"
 */
export const openAlgoExchange = (i: Instrument): string => (isIndex(i) ? `${i.exchange}_INDEX` : i.exchange);

/**
 * The symbol OpenAlgo names an instrument by.
 *
 * @example
 * openAlgoSymbol({ tradingsymbol: "NIFTY2432820800CE", name: "NIFTY", instrument_type: "CE", expiry: "2024-03-28", strike: "20800", … });
 * // "NIFTY28MAR2420800CE"
 */
export function openAlgoSymbol(i: Instrument): string {
  if (isIndex(i)) return INDEX_NAMES[i.tradingsymbol] ?? i.tradingsymbol.replaceAll(" ", "");
  const expiry = expiryCode(i.expiry);
  if (i.instrument_type === "FUT" && expiry) return `${i.name}${expiry}FUT`;
  if ((i.instrument_type === "CE" || i.instrument_type === "PE") && expiry) {
    const strike = strikeCode(i.strike);
    if (strike) return `${i.name}${expiry}${strike}${i.instrument_type}`;
  }
  return i.tradingsymbol;
}

/** Lookups by OpenAlgo's names, both ways. */
export interface SymbolIndex {
  /** The instrument OpenAlgo calls `symbol` on `exchange` (case as sent; both are upper case in OpenAlgo). */
  resolve(exchange: string, symbol: string): Instrument | undefined;
  /** Every instrument, with its OpenAlgo exchange and symbol, in the master's order. */
  entries(): readonly SymbolEntry[];
}

export interface SymbolEntry {
  exchange: string;
  symbol: string;
  instrument: Instrument;
}

/**
 * An index over `instruments` (built once: the master does not change while a process runs).
 *
 * @example
 * const symbols = symbolIndex(services.instruments.list());
 * symbols.resolve("NSE", "INFY")?.instrument_token; // 408065
 */
export function symbolIndex(instruments: readonly Instrument[]): SymbolIndex {
  const entries: SymbolEntry[] = instruments.map((instrument) => ({ exchange: openAlgoExchange(instrument), symbol: openAlgoSymbol(instrument), instrument }));
  const byName = new Map<string, Instrument>();
  // The first of two instruments with one name wins, as a master's first row would.
  for (const e of entries) if (!byName.has(`${e.exchange}:${e.symbol}`)) byName.set(`${e.exchange}:${e.symbol}`, e.instrument);
  return {
    resolve: (exchange, symbol) => byName.get(`${exchange}:${symbol}`),
    entries: () => entries,
  };
}

