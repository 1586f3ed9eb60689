/**
 * Kite Connect sessions (`kite_sessions`, migration 0004): the access token of the last login per
 * Kite app (api_key), written by `bun run kite:session` and read by the gateway at start.
 */
import type { Sql } from "postgres";
import { storeError } from "./errors.ts";

/** One Kite app's last login: the token is kept as is, since it must be sent to Kite. */
export interface StoredSession {
  api_key: string;
  access_token: string;
  user_id: string | null;
  created_at: Date;
}

/**
 * Keeps the newest access token for an api_key (replacing yesterday's).
 *
 * @example
 * await storeAccessToken(store.sql, { api_key, access_token: s.access_token, user_id: s.user_id });
 */
export async function storeAccessToken(sql: Sql, s: { api_key: string; access_token: string; user_id?: string | null }): Promise<void> {
  try {
    await sql`
      insert into kite_sessions (api_key, access_token, user_id)
      values (${s.api_key}, ${s.access_token}, ${s.user_id ?? null})
      on conflict (api_key) do update
        set access_token = excluded.access_token, user_id = excluded.user_id, created_at = now()`;
  } catch (err) {
    throw storeError(err, "cannot store the Kite access token");
  }
}

/**
 * The stored session for an api_key, or undefined. `created_at` tells its age: Kite expires
 * tokens every morning, so one from before today's 06:00 IST will meet a TokenException.
 *
 * @example
 * const s = await loadAccessToken(store.sql, config.kite.apiKey);
 */
export async function loadAccessToken(sql: Sql, apiKey: string): Promise<StoredSession | undefined> {
  try {
    const [row] = await sql<StoredSession[]>`
      select api_key, access_token, user_id, created_at from kite_sessions where api_key = ${apiKey}`;
    return row ? { ...row } : undefined;
  } catch (err) {
    throw storeError(err, "cannot read the Kite access token");
  }
}
