/**
 * Money is integer paise inside the system and a decimal string in rupees at the edge. These are
 * the only conversions; nothing here touches a float.
 */
import { AlphaError } from "./errors.ts";

/** Integer paise. */
export type Paise = number;

const DECIMAL = /^(-)?(\d{1,13})(?:\.(\d{1,2}))?$/;

/**
 * "2451.35" → 245135. At most two decimals; anything else is refused, never rounded.
 *
 * @example
 * toPaise("2451.35"); // 245135
 */
export function toPaise(rupees: string): Paise {
  const m = DECIMAL.exec(rupees.trim());
  if (!m) throw new AlphaError("PAYLOAD_INVALID", `not an amount in rupees with at most 2 decimals: ${JSON.stringify(rupees)}`);
  const whole = Number(m[2]);
  const frac = Number((m[3] ?? "").padEnd(2, "0"));
  const paise = whole * 100 + frac;
  return m[1] && paise !== 0 ? -paise : paise;
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
