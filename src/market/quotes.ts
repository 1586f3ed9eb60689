/**
 * Quotes from what the pipeline has seen: per instrument, the last price, the best bid and ask
 * (and the book, from full-mode ticks), the day's open, high and low, the previous day's last
 * price, volume. The strategy stage already decodes every tick, so it keeps the book as a side
 * effect (a map lookup and a few comparisons per tick) and writes the quotes that changed to the
 * cache every QUOTES_FLUSH_MS as one hash write; readers (OpenAlgo's quotes and depth) read the
 * cache and never touch the tick stream. Prices are paise. The day is India's (IST).
 */
import type { Cache } from "../cache/port.ts";
import type { Tick } from "../events/payloads.ts";

/** The hash the quotes live in: one field per instrument token, its Quote as JSON. */
export const QUOTES_KEY = "market:quotes";

/** How often the changed quotes are written: a quote is at most this stale, and the cache sees one write per interval. */
export const QUOTES_FLUSH_MS = 250;

export interface DepthLevel {
  price: number;
  quantity: number;
  orders: number;
}

export interface Quote {
  instrument_token: number;
  ltp: number;
  /** Last traded quantity. */
  ltq?: number;
  bid?: number;
  ask?: number;
  /** The day's first, highest and lowest price seen. */
  open: number;
  high: number;
  low: number;
  /** The last price seen on the previous day we saw ticks of. */
  prev_close?: number;
  /** Cumulative volume today, as the feed reports it. */
  volume?: number;
  depth?: { buy: DepthLevel[]; sell: DepthLevel[] };
  /** The IST date of the day the open, high and low belong to (YYYY-MM-DD). */
  day: string;
  /** The last tick's exchange time (ISO UTC). */
  ts: string;
}

const IST_OFFSET_MS = 330 * 60_000;
const DAY_MS = 86_400_000;

/** The IST day an ISO instant falls on, and the UTC instants (ISO) it starts and ends at. */
export function istDay(iso: string): { day: string; startsAt: string; endsAt: string } {
  const start = Math.floor((Date.parse(iso) + IST_OFFSET_MS) / DAY_MS) * DAY_MS;
  return {
    day: new Date(start).toISOString().slice(0, 10),
    startsAt: new Date(start - IST_OFFSET_MS).toISOString(),
    endsAt: new Date(start + DAY_MS - IST_OFFSET_MS).toISOString(),
  };
}

interface Entry {
  quote: Quote;
  /** The quote's day as UTC instants: a tick's ISO time compares with them as text, so no date is parsed per tick. */
  startsAt: string;
  endsAt: string;
}

/**
 * @example
 * const book = new QuoteBook();
 * book.onTick(tick);
 * await cache.hset(QUOTES_KEY, book.drain());
 */
export class QuoteBook {
  private readonly entries = new Map<number, Entry>();
  private readonly dirty = new Set<number>();

  /** Takes one tick in. A tick older than the day its instrument's quote is on is left out (a late one from yesterday). */
  onTick(t: Tick): void {
    let e = this.entries.get(t.instrument_token);
    if (e && t.exchange_ts < e.startsAt) return;
    if (!e || t.exchange_ts >= e.endsAt) {
      const d = istDay(t.exchange_ts);
      const prev = e?.quote.ltp;
      e = {
        quote: { instrument_token: t.instrument_token, ltp: t.last_price, open: t.last_price, high: t.last_price, low: t.last_price, day: d.day, ts: t.exchange_ts },
        startsAt: d.startsAt,
        endsAt: d.endsAt,
      };
      if (prev !== undefined) e.quote.prev_close = prev;
      this.entries.set(t.instrument_token, e);
    }
    const q = e.quote;
    q.ltp = t.last_price;
    if (t.last_price > q.high) q.high = t.last_price;
    if (t.last_price < q.low) q.low = t.last_price;
    q.ts = t.exchange_ts;
    if (t.last_quantity !== undefined) q.ltq = t.last_quantity;
    if (t.volume !== undefined) q.volume = t.volume;
    // A tick without a side says nothing about it: the last one seen stands.
    if (t.bid !== undefined) q.bid = t.bid;
    if (t.ask !== undefined) q.ask = t.ask;
    if (t.depth !== undefined) q.depth = t.depth;
    this.dirty.add(t.instrument_token);
  }

  /** The quotes changed since the last drain, as the hash's fields; the changed set is emptied. */
  drain(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const token of this.dirty) fields[String(token)] = JSON.stringify(this.entries.get(token)!.quote);
    this.dirty.clear();
    return fields;
  }

  /** Marks quotes changed again (their write failed: the next flush retries them). */
  redo(tokens: Iterable<string>): void {
    for (const t of tokens) if (this.entries.has(Number(t))) this.dirty.add(Number(t));
  }

  /**
   * Takes the quotes written before (by this stage before a restart, or by the worker that owned
   * a partition before it moved here), so the day's open, high and low carry on; a quote changed
   * here since the last drain is newer, and stays.
   */
  seed(fields: Record<string, string>): void {
    for (const [token, json] of Object.entries(fields)) {
      const quote = parseQuote(json);
      if (!quote || this.dirty.has(Number(token))) continue;
      const d = istDay(quote.ts);
      this.entries.set(Number(token), { quote, startsAt: d.startsAt, endsAt: d.endsAt });
    }
  }

  get(token: number): Quote | undefined {
    return this.entries.get(token)?.quote;
  }
}

function parseQuote(json: string | null): Quote | undefined {
  if (json === null) return undefined;
  try {
    const q = JSON.parse(json) as Quote;
    return typeof q.ltp === "number" && typeof q.ts === "string" ? q : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the book's changed quotes to the cache; on a failure they are marked again for the next time.
 *
 * @example
 * every: { ms: QUOTES_FLUSH_MS, run: () => flushQuotes(book, ctx.cache) }
 */
export async function flushQuotes(book: QuoteBook, cache: Cache): Promise<void> {
  const fields = book.drain();
  const tokens = Object.keys(fields);
  if (tokens.length === 0) return;
  try {
    await cache.hset(QUOTES_KEY, fields);
  } catch (err) {
    book.redo(tokens);
    throw err;
  }
}

/** Reads quotes from the cache. */
export interface QuoteReader {
  /** The quote of each token, in order; undefined where no tick of it has been seen. */
  get(tokens: readonly number[]): Promise<(Quote | undefined)[]>;
}

/**
 * @example
 * const quotes = cacheQuotes(cache);
 * const [infy] = await quotes.get([408065]);
 */
export const cacheQuotes = (cache: Cache): QuoteReader => ({
  get: (tokens) => Promise.all(tokens.map(async (t) => parseQuote(await cache.hget(QUOTES_KEY, String(t))))),
});
