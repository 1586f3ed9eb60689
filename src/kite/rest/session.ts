/**
 * The daily Kite login, as far as a program can do it: the person logs in at Kite's login URL,
 * Kite redirects with a request_token, and `bun run kite:session <request_token>` exchanges it
 * for an access token and stores it (table kite_sessions, migration 0004) for the gateway.
 */
import type { Sql } from "postgres";
import { storeAccessToken } from "../../store/kite-sessions.ts";
import { exchangeSession, type ExchangeSessionOptions } from "./client.ts";
import type { FetchLike } from "./http.ts";

// The statements live in the store; re-exported so the Kite module's surface stays one import.
export { loadAccessToken, storeAccessToken, type StoredSession } from "../../store/kite-sessions.ts";

export const SESSION_USAGE = `usage: bun run kite:session <request_token>
  KITE_API_KEY, KITE_API_SECRET  from your Kite Connect app (developers.kite.trade)
  DATABASE_URL                   where the gateway keeps its store
  KITE_BASE_URL                  optional, default https://api.kite.trade
Log in at https://kite.zerodha.com/connect/login?v=3&api_key=<KITE_API_KEY>; Kite redirects to
your app's redirect URL with ?request_token=… (valid for a few minutes, once).`;

export interface SessionCliDeps {
  env: Record<string, string | undefined>;
  /** Opens the store at DATABASE_URL (migrated); closed after use. */
  openSql: (databaseUrl: string) => Promise<{ sql: Sql; close: () => Promise<void> }>;
  fetch?: FetchLike;
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * The whole command: checks its inputs, exchanges the token, stores it. Returns the exit code
 * (0 done, 2 bad usage, 1 Kite or the database refused). Never prints the secret or the token.
 */
export async function runSessionCli(args: readonly string[], deps: SessionCliDeps): Promise<number> {
  const requestToken = args[0]?.trim();
  const apiKey = deps.env.KITE_API_KEY?.trim();
  const apiSecret = deps.env.KITE_API_SECRET?.trim();
  const databaseUrl = deps.env.DATABASE_URL?.trim();
  const missing = [!requestToken && "a request_token argument", !apiKey && "KITE_API_KEY", !apiSecret && "KITE_API_SECRET", !databaseUrl && "DATABASE_URL"].filter(Boolean);
  if (missing.length > 0 || args.length > 1) {
    deps.err(`kite:session: ${missing.length ? `missing ${missing.join(", ")}` : "one argument only: the request_token"}\n${SESSION_USAGE}`);
    return 2;
  }
  const opts: ExchangeSessionOptions = { apiKey: apiKey!, apiSecret: apiSecret!, requestToken: requestToken!, fetch: deps.fetch };
  if (deps.env.KITE_BASE_URL?.trim()) opts.baseUrl = deps.env.KITE_BASE_URL.trim();
  let session;
  try {
    session = await exchangeSession(opts);
  } catch (err) {
    deps.err(`kite:session: Kite did not give a session: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const store = await deps.openSql(databaseUrl!);
  try {
    await storeAccessToken(store.sql, { api_key: apiKey!, access_token: session.access_token, user_id: session.user_id });
  } finally {
    await store.close();
  }
  deps.out(`kite:session: stored a new access token for ${session.user_id} (api_key ${apiKey}); restart the gateway to use it`);
  return 0;
}
