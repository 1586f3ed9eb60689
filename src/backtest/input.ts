/**
 * A backtest's input file, in one of three formats, read whole into ticks before anything runs
 * (a bad line stops the run before a single output is written, naming the file and the line):
 *
 * - `replay`: the replay feed's JSON lines (src/market/replay.ts), prices in paise;
 * - `ticks`: a CSV with the header `timestamp,instrument_token,last_price[,volume]` (or
 *   `tradingsymbol` in place of `instrument_token`), prices in rupees;
 * - `candles`: Kite's historical candles, `date,open,high,low,close[,volume]`, one instrument
 *   (named by `--instrument`, else by the file's name: `RELIANCE.csv`, `NSE:RELIANCE.csv`,
 *   `738561.csv`); each candle becomes four ticks spread over its interval (see candleTicks).
 *
 * Every tick gets an id from the file's content and its line (src/market/replay.ts fileTickId).
 */
import { basename, extname } from "node:path";
import { AlphaError } from "../errors.ts";
import type { Tick } from "../events/payloads.ts";
import type { Instrument, InstrumentMaster } from "../market/instruments.ts";
import { fileDigest, fileTickId, parseReplayLines } from "../market/replay.ts";
import { toPaise } from "../money.ts";

export type InputFormat = "replay" | "ticks" | "candles";

/** A tick and its id, in file order. */
export interface InputTick {
  id: string;
  tick: Tick;
}

export interface BacktestInput {
  format: InputFormat;
  /** sha256 of the file, hex. */
  digest: string;
  ticks: InputTick[];
}

/** A bad input file or argument: the CLI exits 2 with its message. */
export class BacktestInputError extends AlphaError {
  constructor(message: string) {
    super("PAYLOAD_INVALID", message);
    this.name = "BacktestInputError";
  }
}

const IST = "+05:30";

/**
 * A CSV timestamp as UTC ISO with milliseconds: ISO 8601 with `T` or a space, with `Z`, `+05:30`
 * or Kite's `+0530`; without an offset the time is IST (NSE's).
 */
function timestampOf(raw: string): string | undefined {
  const parts = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(raw.trim());
  if (!parts) return undefined;
  const offset = parts[3] === undefined ? IST : parts[3] === "Z" ? "Z" : parts[3].includes(":") ? parts[3] : `${parts[3].slice(0, 3)}:${parts[3].slice(3)}`;
  const ms = Date.parse(`${parts[1]}T${parts[2]!.length === 5 ? `${parts[2]}:00` : parts[2]}${offset}`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** An instrument named by token ("738561"), "EXCHANGE:SYMBOL" or a bare NSE symbol. */
export function findInstrument(master: InstrumentMaster, name: string): Instrument | undefined {
  const trimmed = name.trim();
  if (/^\d+$/.test(trimmed)) return master.byToken(Number(trimmed));
  const colon = trimmed.indexOf(":");
  return colon > 0 ? master.bySymbol(trimmed.slice(0, colon).toUpperCase(), trimmed.slice(colon + 1).toUpperCase()) : master.bySymbol("NSE", trimmed.toUpperCase());
}

/** Rupees → paise, on the instrument's tick grid, or an error naming the column. */
function priceOf(raw: string, column: string, ins: Instrument): number | string {
  let paise: number;
  try {
    paise = toPaise(raw);
  } catch {
    return `${column}: ${JSON.stringify(raw)} is not a price in rupees with at most 2 decimals (a price finer than a paisa is refused, never rounded)`;
  }
  if (paise <= 0) return `${column}: ${JSON.stringify(raw)} must be positive`;
  if (ins.tick_size > 0 && paise % ins.tick_size !== 0) return `${column}: ${raw} is not on ${ins.tradingsymbol}'s tick size of ₹${(ins.tick_size / 100).toFixed(2)}`;
  return paise;
}

function csvLines(text: string): Array<{ line: number; cells: string[] }> {
  const out: Array<{ line: number; cells: string[] }> = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.replace(/\r$/, "").trim();
    if (l === "" || l.startsWith("#")) continue;
    out.push({ line: i + 1, cells: l.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1")) });
  }
  return out;
}

function ticksCsv(text: string, name: string, digest: string, master: InstrumentMaster): InputTick[] {
  const rows = csvLines(text);
  const head = rows.shift()!;
  const cols = head.cells.map((c) => c.toLowerCase());
  const by = cols[1];
  if (cols[0] !== "timestamp" || (by !== "instrument_token" && by !== "tradingsymbol") || cols[2] !== "last_price" || (cols.length === 4 && cols[3] !== "volume") || cols.length > 4) {
    throw new BacktestInputError(`${name}:${head.line}: the header must be timestamp,instrument_token|tradingsymbol,last_price[,volume], got ${head.cells.join(",")}`);
  }
  const out: InputTick[] = [];
  for (const { line, cells } of rows) {
    const bad = (why: string) => new BacktestInputError(`${name}:${line}: ${why}`);
    if (cells.length !== cols.length) throw bad(`expected ${cols.length} columns (${cols.join(",")}), got ${cells.length}`);
    const ts = timestampOf(cells[0]!);
    if (!ts) throw bad(`timestamp: ${JSON.stringify(cells[0])} is not a date-time (e.g. 2026-12-07T09:15:00+05:30)`);
    const ins = by === "instrument_token" ? (/^\d+$/.test(cells[1]!) ? master.byToken(Number(cells[1])) : undefined) : findInstrument(master, cells[1]!);
    if (!ins) throw bad(`${by}: ${JSON.stringify(cells[1])} is not an instrument of the master`);
    const price = priceOf(cells[2]!, "last_price", ins);
    if (typeof price === "string") throw bad(price);
    const tick: Tick = { instrument_token: ins.instrument_token, last_price: price, exchange_ts: ts, feed: "replay" };
    if (cols.length === 4 && cells[3] !== "") {
      if (!/^\d+$/.test(cells[3]!) || !Number.isSafeInteger(Number(cells[3]))) throw bad(`volume: ${JSON.stringify(cells[3])} is not a whole number`);
      tick.volume = Number(cells[3]);
    }
    out.push({ id: fileTickId(digest, line, ts), tick });
  }
  return out;
}

/**
 * A candle's four ticks, at its start and a quarter, a half and three quarters into it: open,
 * then the extreme the bar is least likely to have ended near, then the other, then close. A bar
 * that closes at or above its open (it rose) goes open, low, high, close; one that closes below
 * its open goes open, high, low, close: each is the shortest path through its four prices. The
 * close carries the day's volume so far (the candles' volume added up within the IST day).
 */
function candleTicks(candle: { at: number; o: number; h: number; l: number; c: number; dayVolume?: number }, intervalMs: number, token: number): Array<{ tick: Tick; part: number }> {
  const { o, h, l, c } = candle;
  const path = c >= o ? [o, l, h, c] : [o, h, l, c];
  return path.map((price, part) => {
    const tick: Tick = { instrument_token: token, last_price: price, exchange_ts: new Date(candle.at + Math.floor((intervalMs * part) / 4)).toISOString(), feed: "replay" };
    if (part === 3 && candle.dayVolume !== undefined) tick.volume = candle.dayVolume;
    return { tick, part };
  });
}

function candlesCsv(text: string, name: string, digest: string, master: InstrumentMaster, instrument: string | undefined): InputTick[] {
  const named = instrument ?? basename(name, extname(name));
  const ins = findInstrument(master, named);
  if (!ins) {
    throw new BacktestInputError(
      `${name}: candles are for one instrument, named by --instrument or the file's name (RELIANCE.csv, NSE:RELIANCE.csv, 738561.csv); ${JSON.stringify(named)} is not an instrument of the master`,
    );
  }
  const rows = csvLines(text);
  const head = rows.shift()!;
  const cols = head.cells.map((c) => c.toLowerCase());
  const want = ["date", "open", "high", "low", "close"];
  if (want.some((w, i) => cols[i] !== w) || (cols.length === 6 && cols[5] !== "volume") || cols.length > 7) {
    throw new BacktestInputError(`${name}:${head.line}: the header must be date,open,high,low,close[,volume] (Kite's historical candles), got ${head.cells.join(",")}`);
  }
  const candles: Array<{ line: number; at: number; o: number; h: number; l: number; c: number; volume?: number; dayVolume?: number }> = [];
  for (const { line, cells } of rows) {
    const bad = (why: string) => new BacktestInputError(`${name}:${line}: ${why}`);
    if (cells.length < 5 || cells.length > cols.length) throw bad(`expected ${cols.length} columns (${cols.join(",")}), got ${cells.length}`);
    const ts = timestampOf(cells[0]!);
    if (!ts) throw bad(`date: ${JSON.stringify(cells[0])} is not a date-time (e.g. 2026-12-07T09:15:00+0530)`);
    const prices: number[] = [];
    for (let column = 1; column <= 4; column++) {
      const price = priceOf(cells[column]!, want[column]!, ins);
      if (typeof price === "string") throw bad(price);
      prices.push(price);
    }
    const [o, h, l, c] = prices as [number, number, number, number];
    if (h < Math.max(o, c, l) || l > Math.min(o, c, h)) throw bad(`high ${cells[2]} and low ${cells[3]} must bound open ${cells[1]} and close ${cells[4]}`);
    const at = Date.parse(ts);
    if (candles.length > 0 && at <= candles[candles.length - 1]!.at) throw bad(`date ${cells[0]} is not after the previous candle's`);
    let volume: number | undefined;
    if (cols.length >= 6 && cells[5] !== undefined && cells[5] !== "") {
      if (!/^\d+$/.test(cells[5]) || !Number.isSafeInteger(Number(cells[5]))) throw bad(`volume: ${JSON.stringify(cells[5])} is not a whole number`);
      volume = Number(cells[5]);
    }
    candles.push({ line, at, o, h, l, c, volume });
  }
  // The interval: the smallest gap between two candles (a day's last and the next day's first
  // are further apart); one candle alone is taken for a minute.
  let interval = Infinity;
  for (let i = 1; i < candles.length; i++) interval = Math.min(interval, candles[i]!.at - candles[i - 1]!.at);
  if (!Number.isFinite(interval)) interval = 60_000;
  const out: InputTick[] = [];
  let day = "";
  let dayVolume = 0;
  for (const candle of candles) {
    const candleDay = new Date(candle.at + 5.5 * 3_600_000).toISOString().slice(0, 10);
    if (candleDay !== day) [day, dayVolume] = [candleDay, 0];
    if (candle.volume !== undefined) dayVolume += candle.volume;
    for (const { tick, part } of candleTicks({ ...candle, dayVolume: candle.volume === undefined ? undefined : dayVolume }, interval, ins.instrument_token)) {
      out.push({ id: fileTickId(digest, candle.line, tick.exchange_ts, part), tick });
    }
  }
  return out;
}

/** Which format a file is in, from its first line that is not blank or a comment. */
export function formatOf(text: string): InputFormat | undefined {
  const first = text.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
  if (first === undefined) return undefined;
  if (first.startsWith("{")) return "replay";
  const h = first.toLowerCase().replace(/"/g, "");
  if (h.startsWith("timestamp,")) return "ticks";
  if (h.startsWith("date,")) return "candles";
  return undefined;
}

/**
 * Reads a backtest's input; throws BacktestInputError naming the file and line of the first
 * problem. Instruments are named and priced on the tick grid of `master`.
 *
 * @example
 * const input = parseInput(await Bun.file("today.jsonl").text(), "today.jsonl", master);
 */
export function parseInput(text: string, name: string, master: InstrumentMaster, opts: { instrument?: string } = {}): BacktestInput {
  const format = formatOf(text);
  if (!format) {
    throw new BacktestInputError(
      `${name}: not a backtest input: expected the replay feed's JSON lines, a CSV with the header timestamp,instrument_token|tradingsymbol,last_price[,volume], or Kite's candles (date,open,high,low,close,volume)`,
    );
  }
  if (opts.instrument !== undefined && format !== "candles") throw new BacktestInputError(`--instrument names the instrument of a candles file; ${name} is ${format === "replay" ? "JSON lines" : "a ticks CSV"}, whose lines name theirs`);
  const digest = fileDigest(text);
  let ticks: InputTick[];
  if (format === "replay") {
    ticks = [];
    try {
      for (const { tick, line } of parseReplayLines(text, name)) ticks.push({ id: fileTickId(digest, line, tick.exchange_ts), tick });
    } catch (err) {
      throw new BacktestInputError((err as Error).message);
    }
  } else ticks = format === "ticks" ? ticksCsv(text, name, digest, master) : candlesCsv(text, name, digest, master, opts.instrument);
  if (ticks.length === 0) throw new BacktestInputError(`${name}: has no ticks`);
  return { format, digest, ticks };
}
