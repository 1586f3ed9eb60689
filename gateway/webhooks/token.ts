/**
 * A webhook's token: `wh_` and 32 random bytes in base64url, the only credential of
 * POST /webhooks/:token. Only its SHA-256 (hex) is stored; the token is shown once, when made.
 */
import { createHash } from "node:crypto";

/** What a token looks like: anything else is refused before the store is asked. */
export const TOKEN_SHAPE = /^wh_[A-Za-z0-9_-]{43}$/;

/**
 * A new token.
 *
 * @example
 * makeToken(); // "wh_3q2-…" (46 characters)
 */
export function makeToken(): string {
  return `wh_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
}

/**
 * The SHA-256 of a token, as the store keeps it.
 *
 * @example
 * hashToken(token); // 64 hex characters
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * The path an alert is sent to.
 *
 * @example
 * webhookPath(token); // "/webhooks/wh_…"
 */
export const webhookPath = (token: string): string => `/webhooks/${token}`;
