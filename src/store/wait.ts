/**
 * A bounded wait on a statement: while the database is down or stalled, postgres.js queues a
 * query until it reconnects (its connect timeout is 10 s, and a stalled server never answers), so
 * an API call waiting on it would hang. Past the bound the caller gets STORE_UNAVAILABLE
 * (retryable: a 503 with Retry-After) and a query not yet sent is withdrawn.
 */
import { bounded } from "../errors.ts";
import { storeError } from "./errors.ts";

/** How long an API call waits for the database before answering 503. */
export const STORE_WAIT_MS = 1_500;

/**
 * @example
 * const rows = await withinStore(prepared(sql, "select 1", []), "list orders");
 */
export async function withinStore<T>(query: Promise<T> & { cancel?: () => unknown }, doing: string, ms = STORE_WAIT_MS): Promise<T> {
  try {
    return await bounded(query, ms, "STORE_UNAVAILABLE", `${doing}: database unavailable`, () => withdraw(query));
  } catch (err) {
    throw storeError(err, doing);
  }
}

/**
 * Takes a postgres.js query off the client's queue if it has not been handed to a connection
 * yet (then it never runs, and rejects with 57014); true if so. A query already sent is left to
 * finish: postgres.js cancels one by opening a connection of its own and drops that attempt's
 * promise, so with the server down its rejection would be unhandled, which ends a Bun process.
 */
export function withdraw(query: { cancel?: () => unknown }): boolean {
  if ((query as { state?: unknown }).state || typeof query.cancel !== "function") return false;
  query.cancel();
  return true;
}
