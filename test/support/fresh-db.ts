/**
 * A fresh, empty schema on the real PostgreSQL for one test file, dropped afterwards: reruns
 * never see each other's rows, and the `alpha` role needs no CREATEDB.
 */
import postgres from "postgres";
import { infra } from "./infra.ts";

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let n = 0;

export async function freshDatabaseUrl(databaseUrl = infra.databaseUrl, prefix = "t"): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `${prefix.replace(/[^a-z0-9]/g, "_")}_${run}_${n++}`;
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create schema ${schema}`);
  await admin.end({ timeout: 5 });
  const url = new URL(databaseUrl);
  url.searchParams.set("search_path", schema);
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
      await sql.unsafe(`drop schema if exists ${schema} cascade`);
      await sql.end({ timeout: 5 });
    },
  };
}
