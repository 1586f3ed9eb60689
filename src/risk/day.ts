/** The trading day, in India: IST is UTC+5:30 all year (no daylight saving). */

const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;

/**
 * The IST calendar day of an instant, "YYYY-MM-DD".
 *
 * @example
 * istDay(Date.parse("2025-01-06T18:29:59.999Z")); // "2025-01-06"
 * istDay(Date.parse("2025-01-06T18:30:00.000Z")); // "2025-01-07"
 */
export const istDay = (ms: number): string => new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 10);
