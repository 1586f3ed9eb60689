/**
 * @platformatic/kafka's errors, classified into ours. Its errors nest (a MultipleErrors of retries,
 * each a ResponseError of per-partition ProtocolErrors), so every check searches the whole tree.
 */
import { findErrorBy } from "@platformatic/kafka";
import { AlphaError } from "../errors.ts";

const has = (err: unknown, property: string, value: unknown): boolean =>
  err instanceof Error && findErrorBy(err, property, value) !== null;

/** True when a protocol error with this id (e.g. "TOPIC_ALREADY_EXISTS") is anywhere in the error. */
export const hasApi = (err: unknown, ...ids: string[]): boolean => ids.some((id) => has(err, "apiId", id));

/**
 * The most specific Kafka detail of an error: the server's message or the protocol error's id, so
 * our message says what the broker said rather than "Producing messages failed.".
 */
function detail(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const parts: string[] = [];
  const walk = (e: unknown, depth: number): void => {
    if (!(e instanceof Error) || depth > 6 || parts.length >= 3) return;
    const x = e as Error & { apiId?: string; serverErrorMessage?: string | null; errors?: unknown[] };
    if (x.apiId) parts.push(x.serverErrorMessage ? `${x.apiId}: ${x.serverErrorMessage}` : x.apiId);
    else if (!Array.isArray(x.errors) || x.errors.length === 0) parts.push(x.message);
    if (Array.isArray(x.errors)) for (const inner of x.errors) walk(inner, depth + 1);
    if (x.cause) walk(x.cause, depth + 1);
  };
  walk(err, 0);
  return [...new Set(parts)].join("; ") || err.message;
}

/**
 * The client turns UNKNOWN_TOPIC_OR_PARTITION from a metadata request into a bare UserError
 * ("Unknown topic x.", no code, no cause): its message is all there is to recognise it by.
 */
function unknownTopic(err: unknown): boolean {
  const walk = (e: unknown, depth: number): boolean => {
    if (!(e instanceof Error) || depth > 6) return false;
    const x = e as Error & { code?: string; errors?: unknown[] };
    if (x.code === "PLT_KFK_USER" && x.message.startsWith("Unknown topic ")) return true;
    return (Array.isArray(x.errors) && x.errors.some((i) => walk(i, depth + 1))) || walk(x.cause, depth + 1);
  };
  return walk(err, 0);
}

/** True when the broker asked the member to rejoin its group (a rebalance, not a failure). */
export const needsRejoin = (err: unknown): boolean => has(err, "needsRejoin", true);

/**
 * An error from the Kafka client as an {@link AlphaError}: connection and leadership problems are
 * LOG_UNAVAILABLE (retryable), a missing topic TOPIC_UNKNOWN, a message the broker refuses
 * PAYLOAD_INVALID, a refused credential LOG_FORBIDDEN, anything else INTERNAL.
 *
 * @example
 * await client.send(...).catch((err) => { throw toAlphaError(err, "send to paper.orders.filled"); });
 */
export function toAlphaError(err: unknown, doing: string): AlphaError {
  if (err instanceof AlphaError) return err;
  const why = `${doing}: ${detail(err)}`;
  if (hasApi(err, "UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_ID") || unknownTopic(err)) {
    return new AlphaError("TOPIC_UNKNOWN", `${why} (create it with \`bun run topics\`)`, { cause: err });
  }
  if (hasApi(err, "MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD", "CORRUPT_MESSAGE")) {
    return new AlphaError("PAYLOAD_INVALID", why, { cause: err });
  }
  if (hasApi(err, "INVALID_PARTITIONS", "INVALID_REPLICATION_FACTOR", "INVALID_CONFIG", "INVALID_TOPIC_EXCEPTION", "POLICY_VIOLATION")) {
    return new AlphaError("CONFIG_INVALID", why, { cause: err });
  }
  if (
    has(err, "code", "PLT_KFK_AUTHENTICATION") ||
    hasApi(err, "SASL_AUTHENTICATION_FAILED", "TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
  ) {
    return new AlphaError("LOG_FORBIDDEN", why, { cause: err });
  }
  // Network errors (refused, reset, timed out) and every protocol error the broker marks
  // retriable (no leader, coordinator moving, not enough replicas in sync...).
  if (has(err, "code", "PLT_KFK_NETWORK") || has(err, "code", "PLT_KFK_TIMEOUT") || has(err, "canRetry", true) || needsRejoin(err)) {
    return new AlphaError("LOG_UNAVAILABLE", why, { canRetry: true, cause: err });
  }
  return new AlphaError("INTERNAL", why, { cause: err });
}
