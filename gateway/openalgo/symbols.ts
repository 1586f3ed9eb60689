/**
 * OpenAlgo's symbols for the routes: the names themselves are src/market/openalgo-symbols.ts (the
 * event bridge in src/ uses them too); here, the lookup that answers OpenAlgo's 400.
 */
import type { Instrument } from "../../src/market/instruments.ts";
import type { SymbolIndex } from "../../src/market/openalgo-symbols.ts";
import { OaError } from "./errors.ts";

export { isIndex, OA_EXCHANGES, openAlgoExchange, openAlgoSymbol, symbolIndex, type OaExchange, type SymbolEntry, type SymbolIndex } from "../../src/market/openalgo-symbols.ts";

/**
 * The instrument OpenAlgo's `exchange` + `symbol` name, or a 400 naming both.
 *
 * @example
 * const infy = instrumentFor(symbols, body.exchange, body.symbol);
 */
export function instrumentFor(symbols: SymbolIndex, exchange: string, symbol: string): Instrument {
  const found = symbols.resolve(exchange, symbol);
  if (!found) throw new OaError(400, `symbol: unknown symbol ${JSON.stringify(symbol.slice(0, 64))} on ${JSON.stringify(exchange.slice(0, 16))}`);
  return found;
}
