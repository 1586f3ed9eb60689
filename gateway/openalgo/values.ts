/**
 * OpenAlgo's values as its clients send them: prices and quantities as strings ("850.50", "1") or
 * JSON numbers, in rupees. Prices become exact paise: a price finer than the instrument's tick
 * size is refused, never rounded; so is anything that is not a plain decimal. Failures are
 * {@link OaError}s (400) naming the field.
 */
import { z } from "zod";
import type { Instrument } from "../../src/market/instruments.ts";
import { toRupees, type Paise } from "../../src/money.ts";
import { OaError } from "./errors.ts";

/** A field OpenAlgo sends as a string or a number. */
export const oaNumber = z.union([z.string().max(32), z.number()]);

/** A plain decimal in text: digits, optionally a point and digits (no sign, exponent or spaces inside). */
const DECIMAL = /^(\d{1,13})(?:\.(\d{1,20}))?$/;

/** JSON numbers as their shortest decimal text; exponent forms (1e-7, 1e21) are not plain decimals. */
const textOf = (value: string | number): string => (typeof value === "number" ? String(value) : value.trim());

/**
 * Rupees → paise, exactly: "850.5", "850.50", 850.5 and "850.500" are 85050; "850.505" is refused.
 *
 * @example
 * rupeesToPaise("2451.35", "price"); // 245135
 */
export function rupeesToPaise(value: string | number, field: string): Paise {
  const text = textOf(value);
  const m = DECIMAL.exec(text);
  if (!m) throw new OaError(400, `${field}: must be an amount in rupees such as "850.50", got ${JSON.stringify(value)}`);
  const frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > 2) throw new OaError(400, `${field}: ${text} is finer than a paisa; prices are never rounded`);
  return Number(m[1]) * 100 + Number(frac.padEnd(2, "0"));
}

/**
 * A price for an order on `instrument`: paise on its tick grid. "0" (OpenAlgo's "no price") is undefined.
 *
 * @example
 * priceOf("850.05", infy, "price"); // 85005
 */
export function priceOf(value: string | number | undefined, instrument: Instrument, field: string): Paise | undefined {
  if (value === undefined || value === "") return undefined;
  const paise = rupeesToPaise(value, field);
  if (paise === 0) return undefined;
  if (instrument.tick_size > 0 && paise % instrument.tick_size !== 0) {
    throw new OaError(400, `${field}: ${toRupees(paise)} is not a multiple of ${instrument.tradingsymbol}'s tick size ${toRupees(instrument.tick_size)}; prices are never rounded`);
  }
  return paise;
}

/**
 * A count (a quantity, a split size): a whole number, at least `min`.
 *
 * @example
 * countOf("10", "quantity"); // 10
 */
export function countOf(value: string | number | undefined, field: string, min = 1): number {
  const text = value === undefined ? "" : textOf(value);
  if (!/^\d{1,9}$/.test(text)) throw new OaError(400, `${field}: must be a whole number, got ${JSON.stringify(value ?? null)}`);
  const n = Number(text);
  if (n < min) throw new OaError(400, `${field}: must be at least ${min}, got ${n}`);
  return n;
}

/**
 * A quantity for an order on `instrument`: a positive multiple of its lot size.
 *
 * @example
 * quantityOf("75", niftyFut, "quantity"); // 75
 */
export function quantityOf(value: string | number | undefined, instrument: Instrument, field = "quantity"): number {
  const n = countOf(value, field);
  if (instrument.lot_size > 1 && n % instrument.lot_size !== 0) {
    throw new OaError(400, `${field}: ${n} is not a multiple of ${instrument.tradingsymbol}'s lot size ${instrument.lot_size}`);
  }
  return n;
}

/**
 * A signed target (a smart order's position_size): a whole number, negative for short.
 *
 * @example
 * signedCountOf("-5", "position_size"); // -5
 */
export function signedCountOf(value: string | number | undefined, field: string): number {
  const text = value === undefined ? "" : textOf(value);
  if (!/^-?\d{1,9}$/.test(text)) throw new OaError(400, `${field}: must be a whole number (negative for short), got ${JSON.stringify(value ?? null)}`);
  return Number(text) === 0 ? 0 : Number(text);
}

/**
 * Paise → OpenAlgo's number of rupees in a response (its books answer numbers such as 1234.5).
 * Built from the decimal text, so the number is the nearest double to the exact amount.
 *
 * @example
 * rupeesNumber(123450); // 1234.5
 */
export const rupeesNumber = (paise: Paise): number => Number(toRupees(paise));
