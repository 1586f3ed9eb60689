/**
 * Integer arithmetic for money. Products of paise and rates can pass 2^53, so they are taken in
 * BigInt and brought back only when the result is a safe integer; anything else is a broken
 * invariant and stops loudly rather than losing a paisa.
 */
import { AlphaError } from "../errors.ts";

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
