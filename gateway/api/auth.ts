/**
 * API keys: `Authorization: Bearer <key>`. A key is `ap_` + 32 random bytes in base64url, shown
 * once when made; the store keeps only its SHA-256 (hex) in `api_keys` (migration 0003). Scopes:
 * `read` (GET routes and the WebSocket) and `trade` (everything; trade implies read).
 *
 * Verified keys are remembered for a few seconds so a request does not cost a query (nor a hash);
 * a revoke is therefore seen at once by this process and within that TTL by other gateway processes.
 */
import type { Sql } from "postgres";
import { activeKeyScopes, insertApiKey, insertApiKeyOnce, listApiKeys, revokeApiKey, type ApiKeyRow } from "../../src/store/api-keys.ts";
import { storeError } from "../../src/store/errors.ts";
import { withinStore } from "../../src/store/wait.ts";

export const SCOPES = ["read", "trade"] as const;
export type Scope = (typeof SCOPES)[number];

/** One key as listed: never the key itself, which is not kept. */
export type ApiKeyInfo = ApiKeyRow<Scope>;

/** SHA-256 of the key, hex: what the table holds. */
export const hashKey = (key: string): string => new Bun.CryptoHasher("sha256").update(key).digest("hex");

/** A fresh key: `ap_` + 32 random bytes, base64url (43 characters). */
export const newKey = (): string => `ap_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;

/** True when a key with `scopes` may do what needs `needed`. */
export const allows = (scopes: readonly Scope[], needed: Scope): boolean => scopes.includes(needed) || (needed === "read" && scopes.includes("trade"));

/** The key of an `Authorization: Bearer <key>` header; undefined when there is none. */
export function bearerKey(header: string | null | undefined): string | undefined {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

function checkScopes(scopes: readonly string[]): Scope[] {
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length > 0 || scopes.length === 0) throw new Error(`scopes must be some of ${SCOPES.join(", ")}, got ${JSON.stringify(scopes)}`);
  return [...new Set(scopes as Scope[])];
}

interface Cached {
  /** SHA-256 of the key, for revoke. */
  hash: string;
  scopes: Scope[];
  until: number;
}

/**
 * The api_keys table, with a short cache of verified keys.
 *
 * @example
 * const keys = new ApiKeys(store.sql);
 * const { key } = await keys.create(["trade"], "ci");
 * await keys.verify(key); // ["trade"]
 */
export class ApiKeys {
  /** Keyed by the key as sent: a hit costs no hash. Bounded, and each entry lives `ttlMs`. */
  private readonly cache = new Map<string, Cached>();
  private readonly ttlMs: number;
  private readonly maxCached: number;

  constructor(
    private readonly sql: Sql,
    opts: { ttlMs?: number; maxCached?: number } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.maxCached = opts.maxCached ?? 1_000;
  }

  /** Makes a key; the key is in the answer and nowhere else, ever. */
  async create(scopes: readonly Scope[], name = ""): Promise<{ id: string; key: string; name: string; scopes: Scope[] }> {
    const valid = checkScopes(scopes);
    const key = newKey();
    try {
      const id = await insertApiKey(this.sql, { name, hash: hashKey(key), scopes: valid });
      return { id, key, name, scopes: valid };
    } catch (err) {
      throw storeError(err, "cannot create an API key");
    }
  }

  /**
   * The key's scopes, or undefined when it is unknown or revoked. Rejects with STORE_UNAVAILABLE
   * (retryable) when the database cannot be reached.
   */
  async verify(key: string): Promise<Scope[] | undefined> {
    if (key.length < 16 || key.length > 256) return undefined;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.scopes;
    this.cache.delete(key);
    const hash = hashKey(key);
    // Bounded: with the database down or stalled a request is answered 503, not held.
    const scopes = await withinStore(activeKeyScopes<Scope>(this.sql, hash), "cannot check the API key");
    if (!scopes) return undefined;
    // Bounded: past the limit the oldest entry goes (Map keeps insertion order).
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { hash, scopes, until: now + this.ttlMs });
    return scopes;
  }

  /** Revokes a key by id; false when there is no such (unrevoked) key. */
  async revoke(id: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
    try {
      const revoked = new Set(await revokeApiKey(this.sql, id));
      for (const [key, c] of this.cache) if (revoked.has(c.hash)) this.cache.delete(key);
      return revoked.size > 0;
    } catch (err) {
      throw storeError(err, "cannot revoke the API key");
    }
  }

  /** Every key, revoked ones too, oldest first. */
  async list(): Promise<ApiKeyInfo[]> {
    try {
      return await listApiKeys<Scope>(this.sql);
    } catch (err) {
      throw storeError(err, "cannot list API keys");
    }
  }
}

/**
 * Registers a key you chose (e.g. BOOTSTRAP_API_KEY) as a `trade` key. Idempotent: a key already
 * there is left as it is, and a revoked one stays revoked. Keys shorter than 16 characters are
 * refused: they can be guessed.
 *
 * @example
 * if (env.BOOTSTRAP_API_KEY) await registerBootstrapKey(store.sql, env.BOOTSTRAP_API_KEY);
 */
export async function registerBootstrapKey(sql: Sql, key: string, name = "bootstrap"): Promise<{ id: string; created: boolean }> {
  if (key.length < 16 || key.length > 256 || /\s/.test(key)) {
    throw new Error("the bootstrap API key must be 16 to 256 characters without spaces (e.g. `bun run apikey create` prints one)");
  }
  try {
    return await insertApiKeyOnce(sql, { name, hash: hashKey(key), scopes: ["trade"] });
  } catch (err) {
    throw storeError(err, "cannot register the bootstrap API key");
  }
}

/**
 * A fresh `trade` key named "dev", for the embedded mode to print at start.
 *
 * @example
 * const { key } = await createDevKey(store.sql);
 * logger.info(`API key for this run: ${key}`);
 */
export function createDevKey(sql: Sql): Promise<{ id: string; key: string }> {
  return new ApiKeys(sql).create(["trade"], "dev");
}
