/**
 * The embedded mode's development key, made at start when no BOOTSTRAP_API_KEY is set. With a
 * data directory the database outlives the process, so the key does too: it is kept beside the
 * database (`dev-api-key`, mode 600, as private as the database itself) and the same key is
 * printed at every start, until it is revoked (then a new one is made). In memory, a new key a run.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sql } from "postgres";
import { ApiKeys, createDevKey } from "./api/index.ts";

export const DEV_KEY_FILE = "dev-api-key";

/**
 * @example
 * const { key, reused } = await devKey(store.sql, config.dataDir);
 */
export async function devKey(sql: Sql, dataDir: string | undefined): Promise<{ key: string; reused: boolean }> {
  if (dataDir === undefined) return { key: (await createDevKey(sql)).key, reused: false };
  const path = join(dataDir, DEV_KEY_FILE);
  const kept = (await readFile(path, "utf8").catch(() => "")).trim();
  if (kept && (await new ApiKeys(sql).verify(kept))) return { key: kept, reused: true };
  const { key } = await createDevKey(sql);
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  return { key, reused: false };
}
