/**
 * Kite's instrument dump (https://api.kite.trade/instruments, CSV): instrument_token,
 * exchange_token, tradingsymbol, name, last_price, expiry, strike, tick_size, lot_size,
 * instrument_type, segment, exchange. Prices and tick sizes are rupee decimals; ours are paise,
 * so an instrument whose tick size is finer than a paisa (currency derivatives: 0.0025) cannot be
 * priced on our grid and is left out, and counted. A row that does not parse stops the load with
 * its line number: a half-loaded master is worse than the old one.
 */
import { AlphaError } from "../errors.ts";
import type { Instrument } from "./instruments.ts";

const COLUMNS = ["instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry", "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange"] as const;

/** Splits one CSV line, honouring double quotes ("a,b" and "" escapes). */
function fields(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A rupee decimal to whole paise, or undefined when it has finer precision than a paisa. */
export function rupeesToPaise(text: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > 2) return undefined;
  return Number(m[1]) * 100 + Number(frac.padEnd(2, "0"));
}

export interface ParsedInstruments {
  instruments: Instrument[];
  /** Rows left out because their tick size or price is finer than a paisa. */
  skipped: Array<{ line: number; tradingsymbol: string; reason: string }>;
}

/**
 * @example
 * const { instruments, skipped } = parseInstrumentsCsv(await Bun.file("instruments.csv").text(), "instruments.csv");
 */
export function parseInstrumentsCsv(text: string, name: string): ParsedInstruments {
  const lines = text.split(/\r?\n/);
  const header = fields(lines[0] ?? "").map((h) => h.trim());
  const index = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const missing = COLUMNS.filter((c) => index[c] < 0);
  if (missing.length > 0) throw new AlphaError("PAYLOAD_INVALID", `${name}:1: missing column(s) ${missing.join(", ")}`);
  const out: ParsedInstruments = { instruments: [], skipped: [] };
  for (let n = 1; n < lines.length; n++) {
    if (lines[n]!.trim() === "") continue;
    const f = fields(lines[n]!);
    const get = (c: (typeof COLUMNS)[number]) => (f[index[c]] ?? "").trim();
    const where = `${name}:${n + 1}`;
    const token = Number(get("instrument_token"));
    const lot = Number(get("lot_size"));
    if (!Number.isSafeInteger(token) || token <= 0) throw new AlphaError("PAYLOAD_INVALID", `${where}: instrument_token must be a positive integer, got ${JSON.stringify(get("instrument_token"))}`);
    if (!Number.isSafeInteger(lot) || lot < 0) throw new AlphaError("PAYLOAD_INVALID", `${where}: lot_size must be a whole number, got ${JSON.stringify(get("lot_size"))}`);
    if (!get("tradingsymbol") || !get("exchange")) throw new AlphaError("PAYLOAD_INVALID", `${where}: tradingsymbol and exchange are required`);
    const tick = rupeesToPaise(get("tick_size") || "0");
    const last = rupeesToPaise(get("last_price") || "0");
    if (tick === undefined || last === undefined) {
      out.skipped.push({ line: n + 1, tradingsymbol: get("tradingsymbol"), reason: `tick size ${get("tick_size")} or price ${get("last_price")} is finer than a paisa` });
      continue;
    }
    const expiry = get("expiry");
    const strike = get("strike");
    out.instruments.push({
      instrument_token: token,
      exchange_token: Number(get("exchange_token")) || undefined,
      exchange: get("exchange"),
      tradingsymbol: get("tradingsymbol"),
      name: get("name"),
      tick_size: tick,
      lot_size: lot,
      reference_price: last,
      segment: get("segment") || undefined,
      instrument_type: get("instrument_type") || undefined,
      expiry: expiry || undefined,
      strike: strike && strike !== "0" ? strike : undefined,
    });
  }
  return out;
}
