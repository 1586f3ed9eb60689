/**
 * zod's own patterns for its ISO 8601 date-times, copied so that hand-written fast checks accept
 * exactly what the zod schemas accept (the fast checks' tests hold them to zod's answers).
 */
const DATE = String.raw`(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))`;

/** z.iso.datetime({ offset: false, precision: 3 }): UTC, milliseconds. */
export const ISO_MS = new RegExp(String.raw`^${DATE}T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}(?:Z))$`);
/** z.iso.datetime({ offset: false }): UTC. */
export const ISO = new RegExp(String.raw`^${DATE}T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z))$`);
/** z.iso.datetime({ offset: true }): UTC or an offset. */
export const ISO_OFFSET = new RegExp(String.raw`^${DATE}T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$`);

/**
 * A date-time ISO_OFFSET accepts, as `Date.toISOString()` writes it: returned as it is when it is
 * already so (UTC, milliseconds), which is how feeds send them, without a parse and a format.
 *
 * @example
 * toIsoMs("2026-12-02T09:15:00+05:30"); // "2026-12-02T03:45:00.000Z"
 */
export function toIsoMs(s: string): string {
  return s.length === 24 && s.charCodeAt(23) === 90 && s.charCodeAt(19) === 46 ? s : new Date(s).toISOString();
}

let lastMs = -1;
let lastIso = "";
/** Now, as `new Date().toISOString()`; within one millisecond the same string, formatted once. */
export function nowIso(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
