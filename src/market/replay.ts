/**
 * The replay feed's file format: JSON lines, one tick payload per line (prices in paise, as on
 * the market.ticks topic). Blank lines and lines starting with # are skipped. A bad line stops
 * the replay with its line number: corrupt data is worse than no data.
 */
import { AlphaError } from "../errors.ts";
import { tickSchema, type Tick } from "../events/payloads.ts";

/**
 * @example
 * for (const tick of parseReplay(await Bun.file("ticks.jsonl").text(), "ticks.jsonl")) { … }
 */
export function* parseReplay(text: string, name: string): Generator<Tick> {
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
    const parsed = tickSchema.safeParse({ feed: "replay", ...(raw as object) });
    if (!parsed.success) {
      const why = parsed.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ");
      throw new AlphaError("PAYLOAD_INVALID", `${name}:${i + 1}: ${why}`);
    }
    yield parsed.data;
  }
}

/** How long to wait before a tick, replaying at `speed` (0: no waiting). */
export function replayDelayMs(previous: Tick | undefined, next: Tick, speed: number): number {
  if (!previous || speed === 0) return 0;
  const gap = Date.parse(next.exchange_ts) - Date.parse(previous.exchange_ts);
  return gap > 0 ? gap / speed : 0;
}
