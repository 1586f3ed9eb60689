/**
 * Money is integer paise inside the system and a decimal string in rupees at the edge. These are
 * the only conversions; nothing here touches a float.
 */
import { AlphaError } from "./errors.ts";

/** Integer paise. */
export type Paise = number;

/**
 * "2451.35" → 245135. At most two decimals; anything else is refused, never rounded.
 *
 * @example
 * toPaise("2451.35"); // 245135
 */
export function toPaise(rupees: string): Paise {
  // /^(-)?(\d{1,13})(?:\.(\d{1,2}))?$/ after a trim, read by hand (a feed's every price comes
  // through here): sign, 1–13 digits, then optionally a point and 1–2 digits. Integers only.
  const s = rupees.trim();
  const n = s.length;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  const start = i;
  let whole = 0;
  for (let d: number; i < n && (d = s.charCodeAt(i) - 48) >= 0 && d <= 9; i++) whole = whole * 10 + d;
  const wholeDigits = i - start;
  let frac = 0;
  let fracDigits = -1;
  if (i < n && s.charCodeAt(i) === 46) {
    fracDigits = 0;
    for (i++; i < n; i++, fracDigits++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      frac = frac * 10 + d;
    }
  }
  if (i !== n || wholeDigits < 1 || wholeDigits > 13 || fracDigits === 0 || fracDigits > 2) {
    throw new AlphaError("PAYLOAD_INVALID", `not an amount in rupees with at most 2 decimals: ${JSON.stringify(rupees)}`);
  }
  const paise = whole * 100 + (fracDigits === 1 ? frac * 10 : frac);
  return start === 1 && paise !== 0 ? -paise : paise;
}

/**
 * 245135 → "2451.35".
 *
 * @example
 * toRupees(-5); // "-0.05"
 */
export function toRupees(paise: Paise): string {
  if (!Number.isSafeInteger(paise)) throw new AlphaError("INTERNAL", `paise must be a safe integer, got ${paise}`);
  const sign = paise < 0 ? "-" : "";
  const abs = Math.abs(paise);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** True when the price sits on the instrument's tick grid. */
export const onTickGrid = (price: Paise, tickSize: Paise): boolean => tickSize > 0 && price % tickSize === 0;
