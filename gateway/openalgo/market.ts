/**
 * OpenAlgo's market data from what the gateway has seen: quotes, multiquotes and depth read the
 * quotes the strategy stage keeps from the ticks (src/market/quotes.ts), in the fields OpenAlgo's
 * Zerodha module answers (numbers of rupees; oi 0, as we carry none). An instrument the master
 * knows but no tick of which has been seen is a 404 saying so; one the master does not know is
 * OpenAlgo's 400. intervals answers what OpenAlgo answers for Zerodha.
 */
import { z } from "zod";
import type { Instrument } from "../../src/market/instruments.ts";
import type { DepthLevel, Quote } from "../../src/market/quotes.ts";
import type { OaDeps } from "./deps.ts";
import { OaError } from "./errors.ts";
import { symbolRoutes } from "./instruments.ts";
import { oaRoute, type OaRoute } from "./route.ts";
import { OA_EXCHANGES, type SymbolIndex } from "./symbols.ts";
import { rupeesNumber } from "./values.ts";

export const oaExchange = z.enum(OA_EXCHANGES);
const symbolAndExchange = z.object({ symbol: z.string().min(1).max(64), exchange: oaExchange });

/** The levels a side of the depth answers, as Kite's full mode has them. */
const DEPTH_LEVELS = 5;

/** OpenAlgo's message for a symbol its master does not have (services/quotes_service.py). */
export const unknownSymbol = (symbol: string, exchange: string) =>
  `Symbol '${symbol.slice(0, 64)}' not found for exchange '${exchange}'. Please verify the symbol name and ensure master contracts are downloaded.`;

const noQuote = (symbol: string, exchange: string) => `no quote for ${exchange}:${symbol} yet: the gateway has seen no tick of it since its quotes began`;

function resolve(symbols: SymbolIndex, exchange: string, symbol: string): Instrument {
  const found = symbols.resolve(exchange, symbol);
  if (!found) throw new OaError(400, unknownSymbol(symbol, exchange));
  return found;
}

const price = (paise: number | undefined): number => (paise === undefined ? 0 : rupeesNumber(paise));

/** A quote in OpenAlgo's quotes fields. */
export function quoteData(q: Quote) {
  return {
    ask: price(q.ask ?? q.depth?.sell[0]?.price),
    bid: price(q.bid ?? q.depth?.buy[0]?.price),
    high: rupeesNumber(q.high),
    low: rupeesNumber(q.low),
    ltp: rupeesNumber(q.ltp),
    open: rupeesNumber(q.open),
    prev_close: price(q.prev_close),
    volume: q.volume ?? 0,
    oi: 0,
  };
}

/** Five levels a side (empty ones zero, as OpenAlgo pads them): the book where a full-mode tick brought one, else the best bid and ask. */
function levels(book: readonly DepthLevel[] | undefined, best: number | undefined): Array<{ price: number; quantity: number }> {
  const seen = book && book.length > 0 ? book.map((l) => ({ price: rupeesNumber(l.price), quantity: l.quantity })) : best !== undefined ? [{ price: rupeesNumber(best), quantity: 0 }] : [];
  const out = seen.slice(0, DEPTH_LEVELS);
  while (out.length < DEPTH_LEVELS) out.push({ price: 0, quantity: 0 });
  return out;
}

/** A quote in OpenAlgo's depth fields. */
export function depthData(q: Quote) {
  const bids = levels(q.depth?.buy, q.bid);
  const asks = levels(q.depth?.sell, q.ask);
  return {
    asks,
    bids,
    high: rupeesNumber(q.high),
    low: rupeesNumber(q.low),
    ltp: rupeesNumber(q.ltp),
    ltq: q.ltq ?? 0,
    oi: 0,
    open: rupeesNumber(q.open),
    prev_close: price(q.prev_close),
    totalbuyqty: bids.reduce((s, l) => s + l.quantity, 0),
    totalsellqty: asks.reduce((s, l) => s + l.quantity, 0),
    volume: q.volume ?? 0,
  };
}

/** Zerodha's history intervals as OpenAlgo's intervals service groups them (broker/zerodha/api/data.py timeframe_map). */
export const ZERODHA_INTERVALS = {
  seconds: [] as string[],
  minutes: ["1m", "3m", "5m", "10m", "15m", "30m", "60m"],
  hours: ["1h"],
  days: ["D"],
  weeks: [] as string[],
  months: [] as string[],
};

/**
 * @example
 * const routes = marketRoutes(deps); // quotes, multiquotes, depth, symbol, search, intervals
 */
export function marketRoutes(deps: OaDeps): OaRoute[] {
  async function quoteOf(body: { symbol: string; exchange: string }): Promise<Quote> {
    const instrument = resolve(deps.symbols, body.exchange, body.symbol);
    const [q] = await deps.quotes.get([instrument.instrument_token]);
    if (!q) throw new OaError(404, noQuote(body.symbol, body.exchange));
    return q;
  }
  return [
    oaRoute({
      name: "quotes",
      summary: "An instrument's quote from the ticks the gateway has seen",
      scope: "read",
      body: symbolAndExchange,
      needsActiveBroker: false,
      handle: async ({ body }) => ({ status: "success", data: quoteData(await quoteOf(body)) }),
    }),
    oaRoute({
      name: "multiquotes",
      summary: "Quotes of several instruments; each unknown or unseen one answers its error",
      scope: "read",
      body: z.object({ symbols: z.array(z.object({ symbol: z.string().max(64), exchange: z.string().max(16) })).min(1).max(500) }),
      needsActiveBroker: false,
      handle: async ({ body }) => {
        const items = body.symbols.map((s) => ({ ...s, instrument: s.symbol && s.exchange ? deps.symbols.resolve(s.exchange, s.symbol) : undefined }));
        const invalid = items.filter((i) => !i.instrument);
        const errorOf = (s: { symbol: string; exchange: string }) => (s.symbol && s.exchange ? unknownSymbol(s.symbol, s.exchange) : "Missing symbol or exchange in request");
        if (invalid.length === items.length) {
          // OpenAlgo's answer when no symbol is valid: a 400 with each one's error beside the first.
          throw new OaError(400, errorOf(items[0]!));
        }
        const valid = items.filter((i) => i.instrument);
        const quotes = await deps.quotes.get(valid.map((i) => i.instrument!.instrument_token));
        const results: Array<Record<string, unknown>> = invalid.map((s) => ({ symbol: s.symbol, exchange: s.exchange, error: errorOf(s) }));
        valid.forEach((s, i) => {
          const q = quotes[i];
          results.push(q ? { symbol: s.symbol, exchange: s.exchange, data: quoteData(q) } : { symbol: s.symbol, exchange: s.exchange, error: noQuote(s.symbol, s.exchange) });
        });
        return { status: "success", results };
      },
    }),
    oaRoute({
      name: "depth",
      summary: "An instrument's market depth: the book from full-mode ticks, else the best bid and ask",
      scope: "read",
      body: symbolAndExchange,
      needsActiveBroker: false,
      handle: async ({ body }) => ({ status: "success", data: depthData(await quoteOf(body)) }),
    }),
    ...symbolRoutes(deps),
    oaRoute({
      name: "intervals",
      summary: "The history intervals OpenAlgo offers for Zerodha",
      scope: "read",
      body: z.object({}),
      needsActiveBroker: false,
      handle: async () => ({ status: "success", data: ZERODHA_INTERVALS }),
    }),
  ];
}
