/**
 * A bounded wait on a statement: while the database is down or stalled, postgres.js queues a
 * query until it reconnects (its connect timeout is 10 s, and a stalled server never answers), so
 * an API call waiting on it would hang. Past the bound the caller gets STORE_UNAVAILABLE
 * (retryable: a 503 with Retry-After) and the query is left to run when the database is back:
 * postgres.js's `cancel()` of a query still waiting for a connection leaves its pool unable to
 * answer after the database returns (docs/notes.md), so nothing here cancels.
 */
import { bounded } from "../errors.ts";
import { storeError } from "./errors.ts";

/** How long an API call waits for the database before answering 503. */
export const STORE_WAIT_MS = 1_500;

/**
 * @example
 * const rows = await withinStore(prepared(sql, "select 1", []), "list orders");
 */
export async function withinStore<T>(query: Promise<T>, doing: string, ms = STORE_WAIT_MS): Promise<T> {
  try {
    return await bounded(query, ms, "STORE_UNAVAILABLE", `${doing}: database unavailable`);
  } catch (err) {
    throw storeError(err, doing);
  }
}
