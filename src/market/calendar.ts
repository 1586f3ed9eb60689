/**
 * The exchange calendar of NSE and BSE, equity and equity derivatives (NSE, BSE, NFO, BFO): the
 * regular session 09:15–15:30 IST, the equity pre-open 09:00–09:08, weekends, and the holidays and
 * special sessions (Muhurat) of a data file (holidays.json, or MARKET_CALENDAR_FILE). Pure: times
 * are UTC epoch ms in, IST (UTC+05:30 all year, no daylight saving) only in the text it writes.
 * A value passed to whatever needs it (risk, the paper exchange, the API), like the instrument master.
 *
 * @example
 * const cal = loadCalendar();
 * cal.isOpen("NSE", Date.parse("2026-12-07T04:00:00Z")); // true: Monday 09:30 IST
 * cal.nextOpen("NSE", Date.parse("2026-12-05T10:00:00Z")).ist; // "Mon 7 Dec 2026 09:15 IST"
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import shipped from "./holidays.json" with { type: "json" };

/** The exchanges this calendar knows; an instrument of another (MCX, CDS) has no hours here. */
export const CALENDAR_EXCHANGES = ["NSE", "BSE", "NFO", "BFO"] as const;
export type CalendarExchange = (typeof CALENDAR_EXCHANGES)[number];
/** Only the cash market has a pre-open call auction; derivatives open straight at 09:15. */
const PRE_OPEN_EXCHANGES = new Set<string>(["NSE", "BSE"]);

const MINUTE = 60_000;
const DAY_MS = 86_400_000;
export const IST_OFFSET_MS = 330 * MINUTE;
/** Minutes after midnight IST. */
export const REGULAR_SESSION = { open: 9 * 60 + 15, close: 15 * 60 + 30 } as const;
export const PRE_OPEN_SESSION = { open: 9 * 60, close: 9 * 60 + 8 } as const;
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD").refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), "is not a calendar date");
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time HH:MM (IST)");
const yearSchema = z.strictObject({
  published: z.boolean().optional(),
  holidays: z.array(z.strictObject({ date, name: z.string().min(1) })),
  special_sessions: z.array(z.strictObject({ date, name: z.string().min(1), open: hhmm, close: hhmm })).refine((s) => s.every((x) => x.open < x.close), "each session must close after it opens"),
  notes: z.string().optional(),
});
export const calendarFileSchema = z.strictObject({
  about: z.string().optional(),
  years: z.record(z.string(), yearSchema).superRefine((years, ctx) => {
    for (const y of Object.keys(years)) if (!/^\d{4}$/.test(y)) ctx.addIssue({ code: "custom", path: [y], message: `must be a year YYYY, got ${JSON.stringify(y)}` });
  }),
});
export type CalendarFile = z.infer<typeof calendarFileSchema>;

/** A time, as the API and messages show it: UTC ISO and IST text. */
export interface CalendarTime {
  ms: number;
  at: string;
  /** "Mon 7 Dec 2026 09:15 IST" */
  ist: string;
}

export type Phase = "open" | "pre_open" | "closed";

/** Where an instant falls: the IST date, whether the exchange trades that day, and the phase. */
export interface SessionAt {
  exchange: string;
  /** The IST date, YYYY-MM-DD. */
  date: string;
  phase: Phase;
  /** Why it is closed, in words: "Sunday", "holiday: Christmas", "before the open", "after the close". */
  why: string;
  /** While open: when this session closes. */
  closes?: CalendarTime;
  /** The next regular or special open after the instant. */
  next_open: CalendarTime;
}

/**
 * A time in both forms.
 *
 * @example
 * calendarTime(Date.parse("2026-12-07T03:45:00Z")).ist; // "Mon 7 Dec 2026 09:15 IST"
 */
export function calendarTime(ms: number): CalendarTime {
  const d = new Date(ms + IST_OFFSET_MS);
  const hh = String(d.getUTCHours()).padStart(2, "0");
  const mm = String(d.getUTCMinutes()).padStart(2, "0");
  const ist = `${WEEKDAYS[d.getUTCDay()]!.slice(0, 3)} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${hh}:${mm} IST`;
  return { ms, at: new Date(ms).toISOString(), ist };
}

/** The IST date of an instant, YYYY-MM-DD. */
const istDate = (ms: number) => new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 10);
/** The instant an IST date's minute `minute` begins. */
const atMinute = (day: string, minute: number) => Date.parse(`${day}T00:00:00Z`) - IST_OFFSET_MS + minute * MINUTE;
const minuteOf = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
const weekday = (day: string) => new Date(`${day}T00:00:00Z`).getUTCDay();

interface Special {
  name: string;
  open: number;
  close: number;
}

export class ExchangeCalendar {
  readonly #holidays = new Map<string, string>();
  readonly #specials = new Map<string, Special>();
  readonly #years: CalendarFile["years"];

  constructor(file: CalendarFile) {
    this.#years = file.years;
    for (const y of Object.values(file.years)) {
      for (const h of y.holidays) this.#holidays.set(h.date, h.name);
      for (const s of y.special_sessions) this.#specials.set(s.date, { name: s.name, open: minuteOf(s.open), close: minuteOf(s.close) });
    }
  }

  /** True for an exchange this calendar has hours for. */
  covers(exchange: string): exchange is CalendarExchange {
    return (CALENDAR_EXCHANGES as readonly string[]).includes(exchange);
  }

  /** True when the file lists `year`'s holidays (a year it does not is judged by weekends alone). */
  holidaysListed(year: number): boolean {
    const y = this.#years[String(year)];
    return y !== undefined && y.published !== false;
  }

  /** The regular or special session of an IST date, in minutes IST; undefined when it does not trade. */
  #sessionOn(day: string): { open: number; close: number; name?: string } | undefined {
    const special = this.#specials.get(day);
    if (special) return special;
    const wd = weekday(day);
    if (wd === 0 || wd === 6 || this.#holidays.has(day)) return undefined;
    return REGULAR_SESSION;
  }

  /**
   * The first open strictly after `atMs` (regular or special).
   *
   * @example
   * cal.nextOpen("NSE", Date.parse("2026-12-25T05:00:00Z")).ist; // "Mon 28 Dec 2026 09:15 IST"
   */
  nextOpen(exchange: string, atMs: number): CalendarTime {
    this.#known(exchange);
    let day = istDate(atMs);
    // Every year has weekdays that are not holidays: a year's worth of days always finds one.
    for (let i = 0; i < 370; i++) {
      const s = this.#sessionOn(day);
      if (s) {
        const open = atMinute(day, s.open);
        if (open > atMs) return calendarTime(open);
      }
      day = istDate(atMinute(day, 0) + DAY_MS);
    }
    throw new Error(`no open within a year of ${new Date(atMs).toISOString()}: the calendar lists every day as a holiday`);
  }

  /**
   * Where `atMs` falls for `exchange`.
   *
   * @example
   * cal.sessionAt("NSE", Date.parse("2026-12-07T03:35:00Z")).phase; // "pre_open" (09:05 IST)
   */
  sessionAt(exchange: string, atMs: number): SessionAt {
    this.#known(exchange);
    const day = istDate(atMs);
    const next_open = this.nextOpen(exchange, atMs);
    const base = { exchange, date: day, next_open };
    const s = this.#sessionOn(day);
    if (!s) {
      const wd = weekday(day);
      const holiday = this.#holidays.get(day);
      return { ...base, phase: "closed", why: wd === 0 || wd === 6 ? WEEKDAYS[wd]! : `holiday: ${holiday}` };
    }
    const open = atMinute(day, s.open);
    const close = atMinute(day, s.close);
    if (atMs >= open && atMs < close) return { ...base, phase: "open", why: s.name ?? "regular session", closes: calendarTime(close) };
    if (!s.name && PRE_OPEN_EXCHANGES.has(exchange) && atMs >= atMinute(day, PRE_OPEN_SESSION.open) && atMs < atMinute(day, PRE_OPEN_SESSION.close)) {
      return { ...base, phase: "pre_open", why: "pre-open call auction (09:00–09:08 IST)" };
    }
    return { ...base, phase: "closed", why: atMs < open ? "before the open" : "after the close" };
  }

  /** True while the regular (or a special) session trades; the pre-open is not open for our orders. */
  isOpen(exchange: string, atMs: number): boolean {
    return this.sessionAt(exchange, atMs).phase === "open";
  }

  /**
   * A year's view: sessions, weekends, holidays with names, special sessions.
   *
   * @example
   * cal.calendar("NSE", 2026).holidays[0]; // { date: "2026-01-15", weekday: "Thursday", name: "…" }
   */
  calendar(exchange: string, year: number) {
    this.#known(exchange);
    const y = this.#years[String(year)];
    const clock = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    return {
      exchange,
      year,
      timezone: "IST (UTC+05:30)",
      session: { open: clock(REGULAR_SESSION.open), close: clock(REGULAR_SESSION.close) },
      pre_open: PRE_OPEN_EXCHANGES.has(exchange) ? { open: clock(PRE_OPEN_SESSION.open), close: clock(PRE_OPEN_SESSION.close) } : null,
      weekends: ["Saturday", "Sunday"],
      holidays_listed: this.holidaysListed(year),
      holidays: (y?.holidays ?? []).map((h) => ({ date: h.date, weekday: WEEKDAYS[weekday(h.date)]!, name: h.name })),
      special_sessions: (y?.special_sessions ?? []).map((s) => ({ date: s.date, name: s.name, open: s.open, close: s.close })),
      ...(y?.notes ? { notes: y.notes } : {}),
    };
  }

  #known(exchange: string): void {
    if (!this.covers(exchange)) throw new Error(`no calendar for exchange ${JSON.stringify(exchange)}: it has ${CALENDAR_EXCHANGES.join(", ")}`);
  }
}

/**
 * The problems of a calendar file's content, as "path: message" lines; empty when it is sound.
 *
 * @example
 * calendarProblems(JSON.parse(text)); // ["years.2026.holidays.0.date: must be a date YYYY-MM-DD"]
 */
export function calendarProblems(json: unknown): string[] {
  const r = calendarFileSchema.safeParse(json);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`);
}

/** The calendar shipped in src/market/holidays.json. */
export const SHIPPED_CALENDAR = new ExchangeCalendar(calendarFileSchema.parse(shipped));

/**
 * The calendar of a file (MARKET_CALENDAR_FILE), or the shipped one. The config checked the file
 * at start; this throws if it changed into something unreadable since.
 *
 * @example
 * const cal = loadCalendar(config.marketCalendarFile);
 */
export function loadCalendar(path?: string): ExchangeCalendar {
  if (path === undefined) return SHIPPED_CALENDAR;
  return new ExchangeCalendar(calendarFileSchema.parse(JSON.parse(readFileSync(path, "utf8"))));
}
