/**
 * The replay feed's file format: JSON lines, one tick payload per line (prices in paise, as on
 * the market.ticks topic). Blank lines and lines starting with # are skipped. A bad line stops
 * the replay with its line number: corrupt data is worse than no data.
 *
 * A replayed tick keeps the file's time: its envelope's `ts` is the tick's `exchange_ts` and its
 * id is derived from the file's content and the line (see {@link fileTickId}), never from the
 * wall clock. So FEED=replay and `bun run backtest` give the same tick the same id, and the
 * signals, orders and fills it causes (ids derived from it) the same ids too.
 */
import { ENVELOPE_VERSION, type Envelope } from "../events/envelope.ts";
import { AlphaError } from "../errors.ts";
import { derivedId } from "../events/ids.ts";
import { toIsoMs } from "../events/iso.ts";
import { tickSchema, type Tick } from "../events/payloads.ts";

/** A tick read from a file, with the (1-based) line it came from. */
export interface FileTick {
  tick: Tick;
  line: number;
}

/**
 * @example
 * for (const { tick, line } of parseReplayLines(await Bun.file("ticks.jsonl").text(), "ticks.jsonl")) { … }
 */
export function* parseReplayLines(text: string, name: string): Generator<FileTick> {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new AlphaError("PAYLOAD_INVALID", `${name}:${i + 1}: not JSON`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new AlphaError("PAYLOAD_INVALID", `${name}:${i + 1}: not a JSON object`);
    const parsed = tickSchema.safeParse({ feed: "replay", ...(raw as object) });
    if (!parsed.success) {
      const why = parsed.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ");
      throw new AlphaError("PAYLOAD_INVALID", `${name}:${i + 1}: ${why}`);
    }
    yield { tick: parsed.data, line: i + 1 };
  }
}

/**
 * @example
 * for (const tick of parseReplay(await Bun.file("ticks.jsonl").text(), "ticks.jsonl")) { … }
 */
export function* parseReplay(text: string, name: string): Generator<Tick> {
  for (const { tick } of parseReplayLines(text, name)) yield tick;
}

/** The file's digest (sha256, hex): the part of every tick id that names the file. */
export const fileDigest = (text: string): string => new Bun.CryptoHasher("sha256").update(text).digest("hex");

/**
 * A tick's id, from the file's digest, its line (and `part`, for a line that gives several
 * ticks: a candle) and its time: a UUIDv7 whose time is the tick's (so ids sort by event time)
 * and whose other bits are derived (src/events/ids.ts). The same file gives the same ids.
 *
 * @example
 * fileTickId(fileDigest(text), 12, "2026-12-07T03:45:00.000Z"); // the same string every time
 */
export function fileTickId(digest: string, line: number, ts: string, part = 0): string {
  const ms = Math.max(0, Date.parse(ts)).toString(16).padStart(12, "0").slice(-12);
  return derivedId(`${ms.slice(0, 8)}-${ms.slice(8, 12)}-7000-8000-000000000000`, `${digest}/${line}/${part}`);
}

/**
 * The market.tick envelope of a replayed tick: its id given, its time the tick's own.
 *
 * @example
 * const e = replayEnvelope(tick, fileTickId(digest, line, tick.exchange_ts));
 */
export function replayEnvelope(tick: Tick, id: string, source = "feed.replay"): Envelope<"market.tick"> {
  return {
    id,
    type: "market.tick",
    ts: toIsoMs(tick.exchange_ts),
    correlation_id: id,
    causation_id: null,
    trace_id: id,
    source,
    version: ENVELOPE_VERSION,
    broker: "shared",
    key: String(tick.instrument_token),
    data: tick,
  };
}

/** How long to wait before a tick, replaying at `speed` (0: no waiting). */
export function replayDelayMs(previous: Tick | undefined, next: Tick, speed: number): number {
  if (!previous || speed === 0) return 0;
  const gap = Date.parse(next.exchange_ts) - Date.parse(previous.exchange_ts);
  return gap > 0 ? gap / speed : 0;
}
