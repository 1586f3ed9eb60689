/**
 * Telling "the database is not there" from "the database said no": the first is worth retrying
 * (STORE_UNAVAILABLE), the second is a bug or bad data and retrying changes nothing.
 */
import postgres from "postgres";
import { AlphaError } from "../errors.ts";

// postgres.js raises these as plain Errors with a `code`; the socket layer adds the errno names.
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
]);

// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, restart).
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3])/;

/**
 * True when the error means the server could not be reached or went away mid-query.
 *
 * @example
 * if (isUnavailable(err)) await Bun.sleep(backoff); // then try again
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof postgres.PostgresError) return UNAVAILABLE_SQLSTATE.test(err.code);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONNECTION_CODES.has(code);
}

/**
 * A connection failure becomes a retryable STORE_UNAVAILABLE saying what was being done; any
 * other error (a constraint, a syntax error) is returned unchanged, for the caller to throw.
 *
 * @example
 * try { await sql`select 1` } catch (err) { throw storeError(err, "cannot list strategies") }
 */
export function storeError(err: unknown, context: string): unknown {
  if (!isUnavailable(err)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new AlphaError("STORE_UNAVAILABLE", `${context}: database unavailable: ${reason}`, { canRetry: true, cause: err });
}
