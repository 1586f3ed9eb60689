/**
 * The API keys (`api_keys`, migration 0003): only a key's SHA-256 (hex) is kept, never the key.
 * What a scope means, the key format and the cache of verified keys are the gateway's
 * (gateway/api/auth.ts); these are its statements. Scopes are plain strings here: the table's
 * check holds them to the known ones.
 */
import type { Sql } from "postgres";

/** One key as listed: never the key itself, which is not kept. */
export interface ApiKeyRow<S extends string = string> {
  id: string;
  name: string;
  scopes: S[];
  created_at: Date;
  revoked_at: Date | null;
}

/** A key to store: its name, the SHA-256 of the key and its scopes. */
export interface NewApiKey<S extends string = string> {
  name: string;
  hash: string;
  scopes: readonly S[];
}

/**
 * Stores a new key; its id back. A hash already there is a unique violation (23505).
 *
 * @example
 * const id = await insertApiKey(sql, { name: "ci", hash: hashKey(key), scopes: ["trade"] });
 */
export async function insertApiKey(sql: Sql, key: NewApiKey): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (name, key_hash, scopes) values (${key.name}, ${key.hash}, ${key.scopes as string[]}) returning id`;
  return row!.id;
}

/**
 * Stores the key unless its hash is there already (then it is left as it is: a revoked key stays
 * revoked); its id, and whether this call stored it.
 *
 * @example
 * const { id, created } = await insertApiKeyOnce(sql, { name: "bootstrap", hash, scopes: ["trade"] });
 */
export async function insertApiKeyOnce(sql: Sql, key: NewApiKey): Promise<{ id: string; created: boolean }> {
  const inserted = await sql<{ id: string }[]>`
    insert into api_keys (name, key_hash, scopes) values (${key.name}, ${key.hash}, ${key.scopes as string[]})
    on conflict (key_hash) do nothing returning id`;
  if (inserted[0]) return { id: inserted[0].id, created: true };
  const [row] = await sql<{ id: string }[]>`select id from api_keys where key_hash = ${key.hash}`;
  return { id: row!.id, created: false };
}

/**
 * The scopes of the unrevoked key with this hash; undefined when there is none.
 *
 * @example
 * const scopes = await activeKeyScopes<Scope>(sql, hashKey(key));
 */
export async function activeKeyScopes<S extends string = string>(sql: Sql, hash: string): Promise<S[] | undefined> {
  const rows = await sql<{ scopes: S[] }[]>`select scopes from api_keys where key_hash = ${hash} and revoked_at is null`;
  return rows[0]?.scopes;
}

/**
 * Revokes the key with this id if it is not revoked yet; the hashes it revoked (none or one).
 *
 * @example
 * const revokedHashes = await revokeApiKey(sql, id);
 */
export async function revokeApiKey(sql: Sql, id: string): Promise<string[]> {
  const rows = await sql<{ key_hash: string }[]>`
    update api_keys set revoked_at = now() where id = ${id} and revoked_at is null returning key_hash`;
  return rows.map((r) => r.key_hash);
}

/**
 * Every key, revoked ones too, oldest first.
 *
 * @example
 * for (const k of await listApiKeys<Scope>(sql)) console.log(k.name, k.scopes);
 */
export async function listApiKeys<S extends string = string>(sql: Sql): Promise<ApiKeyRow<S>[]> {
  const rows = await sql<ApiKeyRow<S>[]>`select id, name, scopes, created_at, revoked_at from api_keys order by created_at, id`;
  return rows.map((r) => ({ ...r }));
}

/**
 * Whether OpenAlgo calls made with the unrevoked key of this hash trade live (false: analyze, the
 * default); undefined when there is no such key.
 *
 * @example
 * const live = await openAlgoLive(sql, hashKey(key));
 */
export async function openAlgoLive(sql: Sql, hash: string): Promise<boolean | undefined> {
  const rows = await sql<{ openalgo_live: boolean }[]>`select openalgo_live from api_keys where key_hash = ${hash} and revoked_at is null`;
  return rows[0]?.openalgo_live;
}

/**
 * Sets the OpenAlgo mode of the unrevoked key of this hash; false when there is no such key.
 *
 * @example
 * await setOpenAlgoLive(sql, hashKey(key), true);
 */
export async function setOpenAlgoLive(sql: Sql, hash: string, live: boolean): Promise<boolean> {
  const rows = await sql<{ id: string }[]>`update api_keys set openalgo_live = ${live} where key_hash = ${hash} and revoked_at is null returning id`;
  return rows.length > 0;
}
