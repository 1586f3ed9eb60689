/**
 * Integer arithmetic for money, shared by the paper exchange and the portfolio. Products of paise
 * and rates, or of a cost basis and a quantity, can pass 2^53, so they are taken in BigInt and
 * brought back only when the result is a safe integer; anything else is a broken invariant and
 * stops loudly rather than losing a paisa.
 */
import { AlphaError } from "./errors.ts";

/** A bigint back to a number, or INTERNAL if it would not be exact. */
export function toSafe(n: bigint, what: string): number {
  const v = Number(n);
  if (!Number.isSafeInteger(v)) throw new AlphaError("INTERNAL", `${what} is not a safe integer: ${n}`);
  return v;
}

/** Throws INTERNAL unless `n` is a safe integer. */
export function assertSafe(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new AlphaError("INTERNAL", `${what} is not a safe integer: ${n}`);
  return n;
}

/** ⌊a / b⌋ for a ≥ 0, b > 0. */
export const floorDiv = (a: bigint, b: bigint): bigint => a / b;

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** a / b rounded half up (ties go up), for a ≥ 0, b > 0. */
export const roundHalfUp = (a: bigint, b: bigint): bigint => (2n * a + b) / (2n * b);

/**
 * a × b / c for c > 0, rounded half away from zero (so a short's share mirrors a long's).
 *
 * @example
 * mulDivRound(-1001, 1, 2); // -501 (−500.5 rounds away from zero)
 */
export function mulDivRound(a: number, b: number, c: number): number {
  const num = BigInt(a) * BigInt(b);
  const den = BigInt(c);
  const mag = (2n * (num < 0n ? -num : num) + den) / (2n * den);
  return toSafe(num < 0n ? -mag : mag, "proportional share");
}

/**
 * a × b, exactly, as a safe integer. A double product that is a safe integer is exact (a product
 * past 2^53 never rounds below it), so BigInt is taken only near the edge; `|| 0` keeps -0 out.
 */
export function mul(a: number, b: number, what: string): number {
  const p = a * b;
  if (Number.isSafeInteger(p) && Number.isSafeInteger(a) && Number.isSafeInteger(b)) return p || 0;
  return toSafe(BigInt(a) * BigInt(b), what);
}
