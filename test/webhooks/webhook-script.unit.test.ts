/**
 * `bun run webhook` as a user runs it, against PGlite served on a socket (one client at a time,
 * so the test only connects after the script has exited).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { hashToken } from "../../gateway/webhooks/index.ts";
import { activeWebhook } from "../../src/store/webhooks.ts";
import { startEmbedded, type Embedded } from "../../src/store/pglite.ts";
import { cleanEnv } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const root = new URL("../..", import.meta.url).pathname;
let pg: Embedded;
beforeAll(async () => {
  pg = await startEmbedded();
}, 30_000);
afterAll(() => pg?.stop());

async function webhook(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([process.execPath, "scripts/webhook.ts", ...args], { cwd: root, env: cleanEnv(env), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

test("without DATABASE_URL it says what to set, and exits 2", async () => {
  const r = await webhook(["create", "momentum_fast"], {});
  expect(r.code).toBe(2);
  expect(r.err).toContain("DATABASE_URL is not set");
});

test("a bad rule, command or id is refused before touching the database, naming the option", async () => {
  const bad = await webhook(["create", "momentum_fast", "--quantity", "0", "--chartink-action", "HOLD"], { DATABASE_URL: pg.url });
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--quantity");
  expect(bad.err).toContain("--chartink-action");
  expect((await webhook(["frob"], { DATABASE_URL: pg.url })).code).toBe(2);
  expect((await webhook(["revoke", "not-a-uuid"], { DATABASE_URL: pg.url })).code).toBe(2);
});

test("create prints the token once for a strategy that exists; list shows the webhook, never the token; revoke ends it", async () => {
  const env = { DATABASE_URL: pg.url };
  expect((await webhook(["create", "no_such_strategy"], env)).err).toContain("no strategy");
  expect((await webhook(["create", "momentum_fast", "--broker", "zerodha"], env)).err).toContain("is not one of strategy momentum_fast's brokers");

  const made = await webhook(["create", "momentum_fast", "--quantity", "10", "--product", "cnc", "--chartink-action", "BUY", "--trading-mode", "long"], env);
  expect(made.code).toBe(0);
  expect(made.err).toContain("shown only this once");
  const token = made.out.trim();
  expect(token).toMatch(/^wh_[A-Za-z0-9_-]{43}$/);
  expect(made.err).toContain(`/webhooks/${token}`);

  const listed = await webhook(["list", "momentum_fast"], env);
  expect(listed.code).toBe(0);
  expect(listed.out).toContain('{"product":"CNC","quantity":10,"trading_mode":"LONG","chartink_action":"BUY"}');
  expect(listed.out).not.toContain(token);
  const id = listed.out.trim().split(/\s+/)[0]!;

  const sql = postgres(pg.url, { max: 1 });
  try {
    expect(await activeWebhook(sql, hashToken(token))).toMatchObject({ id, strategy_id: "momentum_fast" });
  } finally {
    await sql.end();
  }
  const revoked = await webhook(["revoke", id], env);
  expect(revoked.code).toBe(0);
  expect((await webhook(["revoke", id], env)).code).toBe(2);
  expect((await webhook(["list"], env)).out).toContain("revoked");
  const sql2 = postgres(pg.url, { max: 1 });
  try {
    expect(await activeWebhook(sql2, hashToken(token))).toBeUndefined();
  } finally {
    await sql2.end();
  }
});
