import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { calendarProblems, calendarTime, ExchangeCalendar, loadCalendar, SHIPPED_CALENDAR } from "../../src/market/calendar.ts";

/** An instant given as IST wall time. */
const ist = (text: string) => Date.parse(`${text}+05:30`);
const cal = SHIPPED_CALENDAR;

describe("the NSE/BSE calendar", () => {
  test("the regular session is 09:15 to 15:30 IST: 09:14:59.999 is closed, 09:15 open, 15:29:59.999 open, 15:30 closed", () => {
    // Monday 7 December 2026, a trading day.
    expect(cal.isOpen("NSE", ist("2026-12-07T09:14:59.999"))).toBe(false);
    expect(cal.isOpen("NSE", ist("2026-12-07T09:15:00.000"))).toBe(true);
    expect(cal.isOpen("NSE", ist("2026-12-07T15:29:59.999"))).toBe(true);
    expect(cal.isOpen("NSE", ist("2026-12-07T15:30:00.000"))).toBe(false);
    const open = cal.sessionAt("NSE", ist("2026-12-07T11:00:00"));
    expect(open).toMatchObject({ exchange: "NSE", date: "2026-12-07", phase: "open", why: "regular session" });
    expect(open.closes!.ist).toBe("Mon 7 Dec 2026 15:30 IST");
    expect(open.next_open.ist).toBe("Tue 8 Dec 2026 09:15 IST");
    expect(cal.sessionAt("NSE", ist("2026-12-07T15:30:00")).why).toBe("after the close");
    expect(cal.sessionAt("NSE", ist("2026-12-07T08:00:00")).why).toBe("before the open");
  });

  test("the equity pre-open 09:00–09:08 is its own phase, not open for orders; derivatives have none", () => {
    expect(cal.sessionAt("NSE", ist("2026-12-07T08:59:59.999")).phase).toBe("closed");
    expect(cal.sessionAt("NSE", ist("2026-12-07T09:00:00")).phase).toBe("pre_open");
    expect(cal.sessionAt("BSE", ist("2026-12-07T09:07:59.999")).phase).toBe("pre_open");
    expect(cal.sessionAt("NSE", ist("2026-12-07T09:08:00")).phase).toBe("closed");
    expect(cal.sessionAt("NFO", ist("2026-12-07T09:05:00")).phase).toBe("closed");
    expect(cal.isOpen("NSE", ist("2026-12-07T09:05:00"))).toBe(false);
    expect(cal.sessionAt("NSE", ist("2026-12-07T09:05:00")).next_open.ist).toBe("Mon 7 Dec 2026 09:15 IST");
  });

  test("weekends are closed, and the next open after Friday's close is Monday 09:15", () => {
    const saturday = cal.sessionAt("NSE", ist("2026-12-05T11:00:00"));
    expect(saturday).toMatchObject({ phase: "closed", why: "Saturday" });
    expect(saturday.next_open).toEqual(calendarTime(ist("2026-12-07T09:15:00")));
    expect(saturday.next_open.at).toBe("2026-12-07T03:45:00.000Z");
    expect(cal.sessionAt("BFO", ist("2026-12-06T23:59:59")).why).toBe("Sunday");
    expect(cal.nextOpen("NSE", ist("2026-12-04T15:30:00")).ist).toBe("Mon 7 Dec 2026 09:15 IST");
  });

  test("a holiday is closed with its name, and the next open skips it (and the weekend after it)", () => {
    // Christmas 2026 is a Friday.
    const christmas = cal.sessionAt("NSE", ist("2026-12-25T10:00:00"));
    expect(christmas).toMatchObject({ phase: "closed", why: "holiday: Christmas" });
    expect(christmas.next_open.ist).toBe("Mon 28 Dec 2026 09:15 IST");
    expect(cal.nextOpen("NSE", ist("2026-12-24T15:30:00")).ist).toBe("Mon 28 Dec 2026 09:15 IST");
    // Republic Day, a Monday: the open after the weekend before it is Tuesday's.
    expect(cal.nextOpen("NSE", ist("2026-01-23T16:00:00")).ist).toBe("Tue 27 Jan 2026 09:15 IST");
  });

  test("IST date boundaries: 18:29:59.999 UTC is still the IST day, 18:30 UTC is the next", () => {
    // Thursday 24 December 2026 23:59:59.999 IST, then Christmas.
    expect(cal.sessionAt("NSE", Date.parse("2026-12-24T18:29:59.999Z")).date).toBe("2026-12-24");
    expect(cal.sessionAt("NSE", Date.parse("2026-12-24T18:30:00.000Z"))).toMatchObject({ date: "2026-12-25", why: "holiday: Christmas" });
    // Monday 09:15 IST is Monday 03:45 UTC; Sunday 23:00 UTC is already Monday 04:30 IST.
    expect(cal.isOpen("NSE", Date.parse("2026-12-07T03:45:00Z"))).toBe(true);
    expect(cal.sessionAt("NSE", Date.parse("2026-12-06T23:00:00Z"))).toMatchObject({ date: "2026-12-07", why: "before the open" });
    expect(cal.nextOpen("NSE", Date.parse("2026-12-06T23:00:00Z")).at).toBe("2026-12-07T03:45:00.000Z");
  });

  test("a special session (Muhurat) trades on a holiday at its own times", () => {
    const muhurat = new ExchangeCalendar({
      years: { "2026": { holidays: [], special_sessions: [{ date: "2026-11-08", name: "Muhurat trading", open: "18:00", close: "19:15" }] } },
    });
    expect(muhurat.isOpen("NSE", ist("2026-11-08T17:59:59"))).toBe(false);
    expect(muhurat.nextOpen("NSE", ist("2026-11-07T10:00:00")).ist).toBe("Sun 8 Nov 2026 18:00 IST");
    expect(muhurat.sessionAt("NSE", ist("2026-11-08T18:30:00"))).toMatchObject({ phase: "open", why: "Muhurat trading" });
    expect(muhurat.sessionAt("NSE", ist("2026-11-08T18:30:00")).closes!.ist).toBe("Sun 8 Nov 2026 19:15 IST");
    expect(muhurat.isOpen("NSE", ist("2026-11-08T19:15:00"))).toBe(false);
  });

  test("the year view: sessions, weekends, named holidays; a year not listed says so", () => {
    const y = cal.calendar("NSE", 2026);
    expect(y).toMatchObject({ exchange: "NSE", year: 2026, session: { open: "09:15", close: "15:30" }, pre_open: { open: "09:00", close: "09:08" }, weekends: ["Saturday", "Sunday"], holidays_listed: true });
    expect(y.holidays).toContainEqual({ date: "2026-12-25", weekday: "Friday", name: "Christmas" });
    expect(y.holidays.every((h) => h.weekday !== "Saturday" && h.weekday !== "Sunday")).toBe(true);
    expect(cal.calendar("NFO", 2026).pre_open).toBeNull();
    expect(cal.calendar("NSE", 2027).holidays_listed).toBe(false);
    expect(cal.calendar("NSE", 2031)).toMatchObject({ holidays_listed: false, holidays: [] });
    // A year with no list is judged by weekends and hours alone.
    expect(cal.isOpen("NSE", ist("2031-01-06T10:00:00"))).toBe(true);
  });

  test("an exchange it has no hours for is refused by name", () => {
    expect(cal.covers("MCX")).toBe(false);
    expect(() => cal.isOpen("MCX", Date.now())).toThrow('no calendar for exchange "MCX"');
  });

  test("a calendar file is checked: MARKET_CALENDAR_FILE names every problem at start", () => {
    expect(calendarProblems({ years: { "2026": { holidays: [{ date: "2026-02-30", name: "x" }], special_sessions: [{ date: "2026-11-08", name: "m", open: "19:00", close: "18:00" }] } } })).toEqual([
      "years.2026.holidays.0.date: is not a calendar date",
      "years.2026.special_sessions: each session must close after it opens",
    ]);
    const dir = mkdtempSync(join(tmpdir(), "calendar-"));
    try {
      const good = join(dir, "good.json");
      writeFileSync(good, JSON.stringify({ years: { "2026": { holidays: [{ date: "2026-12-07", name: "Test day" }], special_sessions: [] } } }));
      const config = loadConfig({ MARKET_CALENDAR_FILE: good });
      expect(config.marketCalendarFile).toBe(good);
      expect(loadCalendar(config.marketCalendarFile).sessionAt("NSE", ist("2026-12-07T10:00:00")).why).toBe("holiday: Test day");
      expect(loadConfig({}).marketCalendarFile).toBeUndefined();
      writeFileSync(join(dir, "bad.json"), JSON.stringify({ years: { "26": { holidays: [], special_sessions: [] } } }));
      const problems = (env: Record<string, string>) => {
        try {
          loadConfig(env);
        } catch (err) {
          return (err as ConfigError).message;
        }
        return "";
      };
      expect(problems({ MARKET_CALENDAR_FILE: join(dir, "bad.json") })).toContain("MARKET_CALENDAR_FILE");
      expect(problems({ MARKET_CALENDAR_FILE: join(dir, "bad.json") })).toContain("must be a year");
      expect(problems({ MARKET_CALENDAR_FILE: join(dir, "missing.json") })).toContain("ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
