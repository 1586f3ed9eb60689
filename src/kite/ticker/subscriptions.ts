/**
 * Which instruments the ticker wants, in which mode, and the JSON requests that say so. Kept
 * apart from the socket so a reconnect can replay exactly this state, and so it is testable.
 */
import { KiteTickerError } from "./errors.ts";
import { KITE_MODES, type KiteMode } from "./types.ts";

/** Kite serves at most this many instruments on one connection. */
export const MAX_INSTRUMENTS = 3000;

/** A request to the ticker, sent as JSON text. */
export type KiteRequest = { a: "subscribe" | "unsubscribe"; v: number[] } | { a: "mode"; v: [KiteMode, number[]] };

/**
 * @example
 * const subs = new Subscriptions();
 * subs.subscribe([408065], "full"); // [{a:"subscribe",v:[408065]}, {a:"mode",v:["full",[408065]]}]
 * subs.restore();                   // the same two, after a reconnect
 */
export class Subscriptions {
  private readonly modes = new Map<number, KiteMode>();

  constructor(readonly limit: number = MAX_INSTRUMENTS) {}

  get size(): number {
    return this.modes.size;
  }

  /** Every token and its mode. */
  entries(): [number, KiteMode][] {
    return [...this.modes];
  }

  /**
   * Adds tokens (or moves them to `mode`). Refuses, changing nothing, when the total would pass
   * the limit: Kite would drop the excess without saying so.
   */
  subscribe(tokens: readonly number[], mode: KiteMode): KiteRequest[] {
    const list = checkTokens(tokens);
    checkMode(mode);
    const added = list.filter((t) => !this.modes.has(t)).length;
    if (this.modes.size + added > this.limit) {
      throw new KiteTickerError(
        "bad_request",
        `cannot subscribe ${added} more instruments: ${this.modes.size} already subscribed and one connection takes at most ${this.limit}`,
        { details: { subscribed: this.modes.size, adding: added, limit: this.limit } },
      );
    }
    if (list.length === 0) return [];
    for (const t of list) this.modes.set(t, mode);
    // Kite subscribes in "quote"; the mode request makes the mode ours whatever the default.
    return [{ a: "subscribe", v: list }, { a: "mode", v: [mode, list] }];
  }

  unsubscribe(tokens: readonly number[]): KiteRequest[] {
    const list = checkTokens(tokens);
    for (const t of list) this.modes.delete(t);
    return list.length === 0 ? [] : [{ a: "unsubscribe", v: list }];
  }

  /** Changes the mode of subscribed tokens; Kite ignores a mode for a token not subscribed, so we refuse it. */
  setMode(mode: KiteMode, tokens: readonly number[]): KiteRequest[] {
    const list = checkTokens(tokens);
    checkMode(mode);
    const missing = list.filter((t) => !this.modes.has(t));
    if (missing.length > 0) {
      throw new KiteTickerError("bad_request", `cannot set the mode of instruments not subscribed: ${missing.slice(0, 10).join(", ")}`, {
        details: { missing },
      });
    }
    if (list.length === 0) return [];
    for (const t of list) this.modes.set(t, mode);
    return [{ a: "mode", v: [mode, list] }];
  }

  /** Everything to send on a new connection to be back where we were. */
  restore(): KiteRequest[] {
    if (this.modes.size === 0) return [];
    const requests: KiteRequest[] = [{ a: "subscribe", v: [...this.modes.keys()] }];
    for (const mode of KITE_MODES) {
      const tokens = [...this.modes].filter(([, m]) => m === mode).map(([t]) => t);
      if (tokens.length > 0) requests.push({ a: "mode", v: [mode, tokens] });
    }
    return requests;
  }
}

function checkTokens(tokens: readonly number[]): number[] {
  const bad = tokens.filter((t) => !(Number.isInteger(t) && t > 0 && t <= 0xffff_ffff));
  if (bad.length > 0) {
    throw new KiteTickerError("bad_request", `instrument tokens must be positive 32-bit integers, got ${bad.slice(0, 10).map(String).join(", ")}`);
  }
  return [...new Set(tokens)];
}

function checkMode(mode: KiteMode): void {
  if (!KITE_MODES.includes(mode)) throw new KiteTickerError("bad_request", `mode must be one of ${KITE_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
}
