/**
 * Money on the desk: the API's decimal strings shown in rupees with Indian digit grouping
 * (₹1,23,45,678.50). Sums are made in integer paise (src/money.ts); a float appears only where a
 * number is drawn (the chart).
 */
import { toPaise, toRupees } from "../../../src/money.ts";

/**
 * Groups the whole rupees the Indian way: the last three digits, then pairs.
 *
 * @example
 * groupIndian("12345678"); // "1,23,45,678"
 */
export function groupIndian(digits: string): string {
  if (digits.length <= 3) return digits;
  const head = digits.slice(0, -3);
  const pairs = head.replace(/\B(?=(\d{2})+$)/g, ",");
  return `${pairs},${digits.slice(-3)}`;
}

/**
 * A decimal string in rupees as the desk shows it; "—" when there is none.
 *
 * @example
 * rupees("-12345678.5"); // "-₹1,23,45,678.50"
 */
export function rupees(decimal: string | undefined | null): string {
  if (decimal === undefined || decimal === null || decimal === "") return "—";
  const text = toRupees(toPaise(decimal));
  const negative = text.startsWith("-");
  const [whole, frac] = (negative ? text.slice(1) : text).split(".");
  return `${negative ? "-" : ""}₹${groupIndian(whole!)}.${frac}`;
}

/** The sum of decimal strings, as a decimal string (in paise on the way). */
export function sumRupees(...decimals: Array<string | undefined>): string {
  let paise = 0;
  for (const d of decimals) if (d) paise += toPaise(d);
  return toRupees(paise);
}

/** Rupees as a number, for drawing only. */
export const rupeesForChart = (decimal: string): number => toPaise(decimal) / 100;

/** "up", "down" or "" for colouring a P&L. */
export const trend = (decimal: string | undefined): string => (!decimal ? "" : decimal.startsWith("-") ? "down" : /[1-9]/.test(decimal) ? "up" : "");

export { toPaise, toRupees };
