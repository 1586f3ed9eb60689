/**
 * Kite sends rupees as JSON numbers (1290.5, 99725.05000000002). These turn them into integer
 * paise without float arithmetic: both work on the number's decimal text.
 *
 * Why the text is enough: `String(x)` is the shortest decimal that reads back as the same double.
 * A JSON text with at most 15 significant digits (any rupee amount below 10^13 with 2 decimals)
 * reads back as exactly one double, and no other decimal of at most 15 digits reads as that
 * double; so `String(x)` has the same value as what Kite wrote (1290.50 → "1290.5").
 */
import type { Paise } from "../../money.ts";

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** The number's decimal text split in sign, whole and fraction digits; undefined for NaN, ±Infinity, 1e21. */
function digits(x: number): { negative: boolean; whole: string; frac: string } | undefined {
  if (!Number.isFinite(x)) return undefined;
  // Exponent forms: 1e21 and up, or below 1e-6. Tiny amounts are zero paise either way.
  const text = Math.abs(x) < 1e-6 ? "0" : String(x);
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  return { negative: m[1] === "-", whole: m[2]!, frac: m[3] ?? "" };
}

function compose(negative: boolean, whole: string, twoDigits: string, roundUp: boolean): Paise | undefined {
  let paise = Number(whole) * 100 + Number(twoDigits) + (roundUp ? 1 : 0);
  if (!Number.isSafeInteger(paise)) return undefined;
  if (negative && paise !== 0) paise = -paise;
  return paise;
}

/**
 * A price on the exchange's grid, exactly: at most two decimals, else undefined (never rounded).
 * Currency derivatives (tick ₹0.0025) are not representable in paise and come back undefined.
 *
 * @example
 * exactPaise(1290.5); // 129050
 * exactPaise(72.1225); // undefined
 */
export function exactPaise(x: number): Paise | undefined {
  const d = digits(x);
  if (!d || d.frac.length > 2) return undefined;
  return compose(d.negative, d.whole, d.frac.padEnd(2, "0"), false);
}

/**
 * An amount Kite computed (an average price, P&L, a margin figure) to the nearest paisa, half
 * away from zero, decided on the decimal digits: 8.466 → 847, 99725.05000000002 → 9972505.
 * Undefined only for values that are not finite or beyond 2^53 paise.
 *
 * @example
 * nearestPaise(-37.80000000000041); // -3780
 */
export function nearestPaise(x: number): Paise | undefined {
  const d = digits(x);
  if (!d) return undefined;
  const frac = d.frac.padEnd(3, "0");
  return compose(d.negative, d.whole, frac.slice(0, 2), frac[2]! >= "5");
}

