/**
 * `bun run apikey` as a user runs it, against PGlite served on a socket (one client at a time,
 * so the test only connects after the script has exited).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { ApiKeys } from "../../gateway/api/auth.ts";
import { startEmbedded, type Embedded } from "../../src/store/pglite.ts";
import { cleanEnv } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const root = new URL("../..", import.meta.url).pathname;
let pg: Embedded;
beforeAll(async () => {
  pg = await startEmbedded();
}, 30_000);
afterAll(() => pg?.stop());

async function apikey(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([process.execPath, "scripts/apikey.ts", ...args], { cwd: root, env: cleanEnv(env), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

test("without DATABASE_URL it says what to set, and exits 2", async () => {
  const r = await apikey(["create", "--scope", "trade"], {});
  expect(r.code).toBe(2);
  expect(r.err).toContain("DATABASE_URL is not set");
});

test("a bad scope or command is refused before touching the database", async () => {
  expect((await apikey(["create", "--scope", "admin"], { DATABASE_URL: pg.url })).err).toContain("--scope read or trade");
  expect((await apikey(["frob"], { DATABASE_URL: pg.url })).code).toBe(2);
});

test("create prints the key once; list shows it; revoke ends it", async () => {
  const env = { DATABASE_URL: pg.url };
  const made = await apikey(["create", "--scope", "read", "--name", "dashboard"], env);
  expect(made.err).toContain("shown only this once");
  expect(made.code).toBe(0);
  const key = made.out.trim();
  expect(key).toMatch(/^ap_[A-Za-z0-9_-]{43}$/);

  const listed = await apikey(["list"], env);
  expect(listed.code).toBe(0);
  expect(listed.out).toContain("dashboard");
  expect(listed.out).not.toContain(key);
  const id = listed.out.split("\n").find((l) => l.includes("dashboard"))!.split("  ")[0]!;

  const sql = postgres({ ...pg.options, onnotice: () => {} });
  try {
    expect(await new ApiKeys(sql).verify(key)).toEqual(["read"]);
  } finally {
    await sql.end();
  }

  expect((await apikey(["revoke", id], env)).out).toContain(`revoked ${id}`);
  expect((await apikey(["revoke", id], env)).code).toBe(2);
  expect((await apikey(["list"], env)).out).toContain("revoked");
}, 60_000);
