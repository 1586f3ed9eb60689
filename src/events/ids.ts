/**
 * Deterministic event ids. A stage that handles the same input twice (a redelivery after a crash)
 * must produce the same output ids, or downstream dedup cannot see the duplicate. A derived id is
 * a UUIDv7 whose 48-bit timestamp is the parent's (so ids stay time-ordered) and whose other bits
 * come from sha256(parent id, salt).
 *
 * @example
 * derivedId(tick.id, "momentum_fast/paper"); // the same string every time for that tick
 */
export function derivedId(parentId: string, salt: string): string {
  const hex = parentId.replace(/-/g, "");
  const ts = /^[0-9a-f]{12}/i.test(hex) ? hex.slice(0, 12) : "000000000000";
  const h = new Bun.CryptoHasher("sha256").update(parentId).update("\u0000").update(salt).digest("hex");
  const variant = ((parseInt(h[15]!, 16) & 0x3) | 0x8).toString(16);
  const s = `${ts}7${h.slice(0, 3)}${variant}${h.slice(3, 6)}${h.slice(6, 18)}`;
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`.toLowerCase();
}

/**
 * The wall clock in milliseconds, with the monotonic clock's sub-millisecond resolution: the
 * monotonic reading plus an offset kept inside the millisecond `Date.now()` reads, so it never
 * disagrees with `Date.now()` on the millisecond and it follows the wall clock when that is
 * stepped or slewed. (`performance.timeOrigin + performance.now()` drifts from `Date.now()` as
 * the two clocks do, and each thread's `timeOrigin` was taken when that thread started.) The
 * offset starts at `timeOrigin` and is moved to a millisecond's edge whenever a reading falls
 * outside it, so after a few readings it is right to the resolution of the calls' spacing.
 */
let offsetMs = performance.timeOrigin;
export function wallClockMs(): number {
  const mono = performance.now();
  const wall = Date.now();
  let t = mono + offsetMs;
  if (t < wall) {
    offsetMs = wall - mono;
    t = wall;
  } else if (t >= wall + 1) {
    offsetMs = wall + 0.999 - mono;
    t = wall + 0.999;
  }
  return t;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** "7" and the fraction's three hex digits, for each fraction. */
const VERSION_FRACTION = Array.from({ length: 4096 }, (_, i) => `7${i.toString(16).padStart(3, "0")}`);
/** Random bytes, drawn 4 KiB at a time: 8 an id. */
const pool = new Uint8Array(4096);
let poolAt = pool.length;
let lastMs = 0;
let lastFraction = -1;
/** The id's first 13 characters (the millisecond and its dashes), formatted once a millisecond. */
let prefixMs = -1;
let prefix = "";

/**
 * A new UUIDv7 (RFC 9562) whose 12 bits after the version are the sub-millisecond fraction of
 * its time (§6.2, method 3: 1/4096 ms, ~0.24 µs), from `wallClockMs`; 62 random bits follow. So
 * `uuidv7Time` reads when an event was made to the microsecond, not the millisecond: the
 * pipeline's tick → fill starts at its tick's id. Ids made in one thread strictly increase: one
 * that would not (two within one step, or the clock set back) takes the last one's time plus a
 * step.
 *
 * @example
 * newId(); // "019ae0c1-52f3-7a3e-9c41-6f0d2b7e5a10"
 */
export function newId(): string {
  const t = wallClockMs();
  let ms = Math.floor(t);
  let fraction = Math.floor((t - ms) * 4096);
  if (ms < lastMs || (ms === lastMs && fraction <= lastFraction)) {
    ms = lastMs;
    fraction = lastFraction + 1;
    if (fraction === 4096) {
      ms++;
      fraction = 0;
    }
  }
  lastMs = ms;
  lastFraction = fraction;
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += 8;
  if (ms !== prefixMs) {
    const time = ms.toString(16).padStart(12, "0");
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-`;
    prefixMs = ms;
  }
  return (
    prefix + VERSION_FRACTION[fraction] + "-" + HEX[(pool[r]! & 0x3f) | 0x80] + HEX[pool[r + 1]!] + "-" +
    HEX[pool[r + 2]!] + HEX[pool[r + 3]!] + HEX[pool[r + 4]!] + HEX[pool[r + 5]!] + HEX[pool[r + 6]!] + HEX[pool[r + 7]!]
  );
}

/**
 * When a UUIDv7 was made, in ms since the epoch: its 48-bit millisecond plus, for ids of
 * `newId`, the fraction in the 12 bits after the version. (For a UUIDv7 of another generator
 * those bits are a counter or random, so the reading is somewhere within its millisecond.)
 * Undefined for any other id.
 */
export function uuidv7Time(id: string): number | undefined {
  if (id.length !== 36 || id.charCodeAt(14) !== 55 /* "7" */) return undefined;
  const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  const fraction = parseInt(id.slice(15, 18), 16);
  return Number.isFinite(ms) && Number.isFinite(fraction) ? ms + fraction / 4096 : undefined;
}
