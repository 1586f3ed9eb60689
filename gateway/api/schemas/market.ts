/** The instruments' and ticks' schemas, and the ticks body's fast path. */
import { z } from "zod";
import { CALENDAR_EXCHANGES } from "../../../src/market/calendar.ts";
import { ISO, ISO_OFFSET, toIsoMs } from "../../../src/events/iso.ts";
import { toPaise } from "../../../src/money.ts";
import { count, instrumentToken, moneyOut, POSITIVE_RUPEES, priceIn } from "./fields.ts";

export const instrumentOut = z.object({
  instrument_token: z.number().int(),
  exchange: z.string(),
  tradingsymbol: z.string(),
  name: z.string(),
  tick_size: moneyOut,
  lot_size: z.number().int(),
  reference_price: moneyOut,
});

export const instrumentListResponse = z.object({ instruments: z.array(instrumentOut) });

export const MAX_TICKS = 1_000;

/**
 * True when an offset date-time stays a 4-digit year once converted to UTC, as the tick event's
 * exchange_ts must be: "9999-12-31T23:59:59-23:59" is year 10000 in UTC, which every stage would
 * dead-letter.
 */
export function inUtcRange(iso: string): boolean {
  // Not a date-time at all: the format check says so.
  return !ISO_OFFSET.test(iso) || ISO.test(toIsoMs(iso));
}

const tickIn = z.strictObject({
  instrument_token: instrumentToken,
  last_price: priceIn,
  last_quantity: count.optional(),
  volume: count.optional(),
  bid: priceIn.optional(),
  ask: priceIn.optional(),
  exchange_ts: z.iso
    .datetime({ offset: true, error: "must be an ISO 8601 date-time, e.g. 2025-01-02T09:15:00Z" })
    .refine(inUtcRange, "must fall between years 0000 and 9999 once converted to UTC")
    .optional()
    .meta({ description: "Default: when the gateway received it. Converted to UTC, it must stay within years 0000–9999 (the event schema's range)." }),
});

export const ticksBody = z.strictObject({
  ticks: z.array(tickIn).min(1, "must hold at least one tick").max(MAX_TICKS, `must hold at most ${MAX_TICKS} ticks`),
});

/**
 * `ticksBody` for the common case, by hand: the parsed body when it is certainly valid, exactly as
 * zod would give it; undefined for anything else, which then goes through zod (that decides and
 * says what is wrong): a feed posts thousands of ticks a second, more than zod can check on the
 * main thread. The tests hold it to zod's answers.
 */
export function fastTicksBody(input: unknown): z.output<typeof ticksBody> | undefined {
  if (!isRecord(input) || !Array.isArray(input.ticks)) return undefined;
  for (const k in input) if (k !== "ticks") return undefined;
  const raw = input.ticks as unknown[];
  if (raw.length < 1 || raw.length > MAX_TICKS) return undefined;
  const ticks: z.output<typeof tickIn>[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    if (!isRecord(t)) return undefined;
    for (const k in t) if (!TICK_KEYS.has(k)) return undefined;
    const token = t.instrument_token;
    if (!Number.isSafeInteger(token) || (token as number) <= 0 || (token as number) > 2 ** 32 - 1) return undefined;
    const last = fastPrice(t.last_price);
    if (last === undefined) return undefined;
    const out: z.output<typeof tickIn> = { instrument_token: token as number, last_price: last };
    if (t.last_quantity !== undefined) {
      if (!fastCount(t.last_quantity)) return undefined;
      out.last_quantity = t.last_quantity as number;
    }
    if (t.volume !== undefined) {
      if (!fastCount(t.volume)) return undefined;
      out.volume = t.volume as number;
    }
    if (t.bid !== undefined) {
      const bid = fastPrice(t.bid);
      if (bid === undefined) return undefined;
      out.bid = bid;
    }
    if (t.ask !== undefined) {
      const ask = fastPrice(t.ask);
      if (ask === undefined) return undefined;
      out.ask = ask;
    }
    if (t.exchange_ts !== undefined) {
      if (typeof t.exchange_ts !== "string" || !ISO_OFFSET.test(t.exchange_ts) || !inUtcRange(t.exchange_ts)) return undefined;
      out.exchange_ts = t.exchange_ts;
    }
    ticks[i] = out;
  }
  return { ticks };
}

const TICK_KEYS = new Set(Object.keys(tickIn.shape));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const fastCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/** priceIn by hand: paise above zero, or undefined. */
function fastPrice(v: unknown): number | undefined {
  if (typeof v !== "string" || !POSITIVE_RUPEES.test(v)) return undefined;
  const paise = toPaise(v);
  return paise > 0 ? paise : undefined;
}

export const ticksResponse = z.object({ accepted: z.number().int() });

/** A pattern of these words in any case, stated in the document (JSON Schema has no case-insensitive flag). */
const anyCase = (words: readonly string[]) =>
  new RegExp(`^(?:${words.map((w) => [...w].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join("")).join("|")})$`);

/** GET /market/calendar's query: the exchange (default NSE) and the year (default the current IST year). */
export const calendarQuery = z.strictObject({
  exchange: z
    .string()
    .regex(anyCase(CALENDAR_EXCHANGES), `must be an exchange with a calendar: ${CALENDAR_EXCHANGES.join(", ")}`)
    .optional()
    .meta({ description: "NSE (default), BSE, NFO or BFO, in any case." }),
  year: z.string().regex(/^\d{4}$/, "must be a year YYYY").transform(Number).optional().meta({ description: "Default: the current year in IST." }),
});

const istTime = z.object({ at: z.string().meta({ description: "UTC, ISO 8601." }), ist: z.string().meta({ description: 'India time, e.g. "Mon 7 Dec 2026 09:15 IST".' }) });
const clock = z.string().regex(/^\d{2}:\d{2}$/).meta({ description: "HH:MM, IST." });

export const calendarResponse = z.object({
  exchange: z.string(),
  year: z.number().int(),
  timezone: z.string(),
  session: z.object({ open: clock, close: clock }),
  pre_open: z.object({ open: clock, close: clock }).nullable().meta({ description: "The equity pre-open call auction; orders are not taken in it (they are refused MARKET_CLOSED unless after-market). Null for derivatives." }),
  weekends: z.array(z.string()),
  holidays_listed: z.boolean().meta({ description: "False when the calendar file has no holiday list for the year: it is then judged by weekends and hours alone." }),
  holidays: z.array(z.object({ date: z.string(), weekday: z.string(), name: z.string() })),
  special_sessions: z.array(z.object({ date: z.string(), name: z.string(), open: clock, close: clock })).meta({ description: "Sessions on a closed day, such as Muhurat trading." }),
  notes: z.string().optional(),
  hours_enforced: z.boolean().meta({ description: "MARKET_HOURS=nse: orders for a closed market are refused MARKET_CLOSED unless after-market (amo)." }),
  now: istTime.extend({
    phase: z.enum(["open", "pre_open", "closed"]),
    why: z.string().meta({ description: 'Why it is in that phase: "regular session", "Sunday", "holiday: Christmas", "after the close", …' }),
    closes: istTime.optional().meta({ description: "While open: when this session closes." }),
    next_open: istTime,
  }),
});
