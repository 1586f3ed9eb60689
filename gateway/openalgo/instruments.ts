/**
 * OpenAlgo's symbol and search over our instrument master, in its fields (services/symbol_service.py,
 * services/search_service.py): its symbol and exchange beside the broker's (Kite's tradingsymbol
 * and exchange), the expiry as DD-MMM-YY, the tick size in rupees, the token as text.
 */
import { z } from "zod";
import type { Instrument } from "../../src/market/instruments.ts";
import type { OaDeps } from "./deps.ts";
import { OaError } from "./errors.ts";
import type { OaExchange, SymbolEntry } from "./symbols.ts";
import { OA_EXCHANGES } from "./symbols.ts";
import { oaRoute, type OaRoute } from "./route.ts";
import { rupeesNumber } from "./values.ts";

/** OpenAlgo's search answers at most this many (its symbol cache's limit). */
export const SEARCH_LIMIT = 500;

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** "2024-03-28" → "28-MAR-24", as OpenAlgo's master writes expiries; "" for none. */
export function oaExpiry(expiry: string | undefined): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(expiry ?? "");
  return m ? `${m[3]}-${MONTHS[Number(m[2]) - 1]}-${m[1]!.slice(2)}` : "";
}

/** "20800.0" → 20800; none → 0. A strike is a price on the exchange's grid, so its decimal text is exact. */
const strikeOf = (strike: string | undefined): number => (strike && /^\d+(\.\d+)?$/.test(strike) ? Number(strike) : 0);

/**
 * One instrument in OpenAlgo's symbol fields.
 *
 * @example
 * symbolData({ exchange: "NSE", symbol: "INFY", instrument }).brsymbol; // "INFY"
 */
export function symbolData(e: SymbolEntry) {
  const i: Instrument = e.instrument;
  return {
    id: i.instrument_token,
    symbol: e.symbol,
    brsymbol: i.tradingsymbol,
    name: i.name,
    exchange: e.exchange,
    brexchange: i.exchange,
    token: String(i.instrument_token),
    expiry: oaExpiry(i.expiry),
    strike: strikeOf(i.strike),
    lotsize: i.lot_size,
    instrumenttype: i.instrument_type ?? "",
    tick_size: rupeesNumber(i.tick_size),
  };
}

/**
 * The entries a search query finds: every word of it (upper-cased) appears in the symbol, the
 * broker's symbol or the name, so "NIFTY 26000 DEC CE" finds NIFTY's December 26000 calls.
 * Exact symbol matches first, then by symbol, then by exchange (OpenAlgo's order: NSE before BSE); at most `limit`.
 */
export function searchEntries(entries: readonly SymbolEntry[], query: string, exchange: OaExchange | undefined, limit = SEARCH_LIMIT): SymbolEntry[] {
  const words = query.toUpperCase().split(/\s+/).filter(Boolean);
  const whole = words.join("");
  const found = entries.filter((e) => {
    if (exchange && e.exchange !== exchange) return false;
    const text = `${e.symbol} ${e.instrument.tradingsymbol} ${e.instrument.name}`.toUpperCase();
    return words.every((w) => text.includes(w));
  });
  const rank = (e: SymbolEntry) => (e.symbol === whole ? 0 : e.symbol.startsWith(words[0] ?? "") ? 1 : 2);
  const exchangeRank = (e: SymbolEntry) => OA_EXCHANGES.indexOf(e.exchange as OaExchange);
  return found
    .sort((a, b) => rank(a) - rank(b) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0) || exchangeRank(a) - exchangeRank(b))
    .slice(0, limit);
}

export function symbolRoutes(deps: OaDeps): OaRoute[] {
  // The first entry of a name, as symbols.resolve answers it.
  const entryOf = new Map<string, SymbolEntry>();
  for (const e of deps.symbols.entries()) if (!entryOf.has(`${e.exchange}:${e.symbol}`)) entryOf.set(`${e.exchange}:${e.symbol}`, e);
  return [
    oaRoute({
      name: "symbol",
      summary: "An instrument of the master by OpenAlgo's symbol and exchange",
      scope: "read",
      body: z.object({ symbol: z.string().min(1).max(64), exchange: z.enum(OA_EXCHANGES) }),
      needsActiveBroker: false,
      handle: async ({ body }) => {
        const found = entryOf.get(`${body.exchange}:${body.symbol}`);
        // OpenAlgo's answer, word for word, with its 404.
        if (!found) throw new OaError(404, `Symbol ${body.symbol} not found in exchange ${body.exchange}`);
        return { status: "success", data: symbolData(found) };
      },
    }),
    oaRoute({
      name: "search",
      summary: "Instruments of the master whose symbol or name holds every word of the query",
      scope: "read",
      body: z.object({ query: z.string().max(128), exchange: z.enum(OA_EXCHANGES).optional() }),
      needsActiveBroker: false,
      handle: async ({ body }) => {
        if (body.query.trim() === "") throw new OaError(400, "Query parameter is required and cannot be empty");
        const found = searchEntries(deps.symbols.entries(), body.query, body.exchange);
        if (found.length === 0) return { status: "success", message: "No matching symbols found", data: [] };
        return { status: "success", message: `Found ${found.length} matching symbols`, data: found.map(symbolData) };
      },
    }),
  ];
}
