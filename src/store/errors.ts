/**
 * Telling "the database is not there" from "the database said no": the first is worth retrying
 * (STORE_UNAVAILABLE), the second is a bug or bad data and retrying changes nothing.
 */
import { AlphaError, isStoreUnavailable } from "../errors.ts";

/**
 * True when the error means the server could not be reached or went away mid-query (the shapes
 * are known in one place: `dependencyError` in src/errors.ts).
 *
 * @example
 * if (isUnavailable(err)) await Bun.sleep(backoff); // then try again
 */
export const isUnavailable = isStoreUnavailable;

/**
 * A connection failure becomes a retryable STORE_UNAVAILABLE saying what was being done; any
 * other error (a constraint, a syntax error) is returned unchanged, for the caller to throw.
 *
 * @example
 * try { await sql`select 1` } catch (err) { throw storeError(err, "cannot list strategies") }
 */
export function storeError(err: unknown, context: string): unknown {
  if (err instanceof AlphaError || !isUnavailable(err)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new AlphaError("STORE_UNAVAILABLE", `${context}: database unavailable: ${reason}`, { canRetry: true, cause: err });
}
