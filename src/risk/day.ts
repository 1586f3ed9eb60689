/** The trading day, in India: IST is UTC+5:30 all year (no daylight saving). */

const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;

/**
 * The IST calendar day of an instant, "YYYY-MM-DD".
 *
 * @example
 * istDay(Date.parse("2025-01-06T18:29:59.999Z")); // "2025-01-06"
 * istDay(Date.parse("2025-01-06T18:30:00.000Z")); // "2025-01-07"
 */
export function istDay(ms: number): string {
  if (ms >= dayStart && ms < dayStart + DAY_MS) return dayText;
  const text = new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 10);
  dayStart = istDayEnd(ms) - DAY_MS;
  dayText = text;
  return text;
}

const DAY_MS = 86_400_000;
// The last day formatted: the tick path asks for the same day again and again.
let dayStart = Number.NaN;
let dayText = "";

/**
 * The first instant (epoch ms) of the IST day after the one `ms` falls in: an event at or after it
 * starts a new trading day. A comparison, so the tick path never formats a date.
 *
 * @example
 * istDayEnd(Date.parse("2025-01-06T04:30:00.000Z")) === Date.parse("2025-01-06T18:30:00.000Z"); // true
 */
export const istDayEnd = (ms: number): number => (Math.floor((ms + IST_OFFSET_MS) / DAY_MS) + 1) * DAY_MS - IST_OFFSET_MS;

/**
 * Minutes after midnight IST of an instant.
 *
 * @example
 * istMinute(Date.parse("2025-01-06T09:50:00.000Z")); // 920 (15:20 IST)
 */
export const istMinute = (ms: number): number => Math.floor(((((ms + IST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
