/**
 * The daily login: request_token → access token at the fake Kite (which checks the checksum),
 * stored in kite_sessions (migration 0004, on embedded PGlite), and the command around it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { exchangeSession, KiteClient } from "../../../src/kite/rest/client.ts";
import { KiteError } from "../../../src/kite/rest/errors.ts";
import { loadAccessToken, runSessionCli, storeAccessToken } from "../../../src/kite/rest/session.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { startEmbedded } from "../../../src/store/pglite.ts";
import { startFakeKite, type FakeKite } from "../server/kite-server.ts";
import { slowTests } from "../../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

let fake: FakeKite;
let store: Store;
beforeAll(async () => {
  fake = await startFakeKite();
  store = await openStore();
}, 30_000);
afterAll(async () => {
  await fake.stop();
  await store.close();
});

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

describe("exchangeSession", () => {
  test("sends api_key, request_token and sha256(api_key + request_token + api_secret); the token works", async () => {
    const requestToken = fake.issueRequestToken();
    const s = await exchangeSession({ baseUrl: fake.url, apiKey: fake.apiKey, requestToken, apiSecret: fake.apiSecret });
    expect(s).toMatchObject({ user_id: fake.userId, access_token: fake.accessToken, api_key: fake.apiKey });
    expect(s.login_time).toBe("2024-06-10T02:45:14.000Z");
    const r = fake.requests.at(-1)!;
    expect([r.method, r.path, r.headers["x-kite-version"], r.headers.authorization]).toEqual(["POST", "/session/token", "3", undefined]);
    expect(r.form).toEqual({ api_key: fake.apiKey, request_token: requestToken, checksum: sha256(fake.apiKey + requestToken + fake.apiSecret) });

    const client = new KiteClient({ baseUrl: fake.url, apiKey: fake.apiKey, accessToken: s.access_token });
    expect(await client.orders()).toEqual([]);
  });

  test("a wrong secret: Kite refuses the checksum (a token error), and sends once", async () => {
    const requestToken = fake.issueRequestToken();
    const before = fake.requests.length;
    const p = KiteClient.exchangeSession({ baseUrl: fake.url, apiKey: fake.apiKey, requestToken, apiSecret: "wrong" });
    await expect(p).rejects.toBeInstanceOf(KiteError);
    await p.catch((e: KiteError) => {
      expect(e.kind).toBe("token");
      expect(e.message).toContain("Invalid `checksum`");
    });
    expect(fake.requests.length - before).toBe(1);
  });

  test("a request_token works once", async () => {
    const requestToken = fake.issueRequestToken();
    const opts = { baseUrl: fake.url, apiKey: fake.apiKey, requestToken, apiSecret: fake.apiSecret };
    await exchangeSession(opts);
    await expect(exchangeSession(opts)).rejects.toMatchObject({ kind: "token", message: expect.stringContaining("invalid or has expired") });
  });
});

describe("storeAccessToken / loadAccessToken", () => {
  test("one row per api_key: the newest token wins", async () => {
    expect(await loadAccessToken(store.sql, "nobody")).toBeUndefined();
    await storeAccessToken(store.sql, { api_key: "k1", access_token: "old", user_id: "AB1234" });
    await storeAccessToken(store.sql, { api_key: "k1", access_token: "new", user_id: "AB1234" });
    await storeAccessToken(store.sql, { api_key: "k2", access_token: "other" });
    const s = await loadAccessToken(store.sql, "k1");
    expect(s).toMatchObject({ api_key: "k1", access_token: "new", user_id: "AB1234" });
    expect(s!.created_at).toBeInstanceOf(Date);
    expect(await loadAccessToken(store.sql, "k2")).toMatchObject({ access_token: "other", user_id: null });
  });
});

describe("runSessionCli (bun run kite:session)", () => {
  const lines: string[] = [];
  const deps = (env: Record<string, string>) => ({
    env,
    openSql: async () => ({ sql: store.sql, close: async () => {} }),
    out: (l: string) => lines.push(l),
    err: (l: string) => lines.push(l),
  });
  const env = () => ({ KITE_API_KEY: fake.apiKey, KITE_API_SECRET: fake.apiSecret, DATABASE_URL: "postgres://unused", KITE_BASE_URL: fake.url });

  test("exchanges and stores; never prints the token or the secret", async () => {
    lines.length = 0;
    expect(await runSessionCli([fake.issueRequestToken()], deps(env()))).toBe(0);
    const stored = await loadAccessToken(store.sql, fake.apiKey);
    expect(stored).toMatchObject({ access_token: fake.accessToken, user_id: fake.userId });
    expect(lines.join("\n")).toContain(`stored a new access token for ${fake.userId}`);
    expect(lines.join("\n")).not.toContain(fake.accessToken);
    expect(lines.join("\n")).not.toContain(fake.apiSecret);
  });

  test("usage problems: exit 2 naming what is missing", async () => {
    lines.length = 0;
    expect(await runSessionCli([], deps({}))).toBe(2);
    expect(lines[0]).toContain("missing a request_token argument, KITE_API_KEY, KITE_API_SECRET, DATABASE_URL");
  });

  test("Kite refuses: exit 1 with Kite's reason, nothing stored", async () => {
    lines.length = 0;
    const before = await loadAccessToken(store.sql, fake.apiKey);
    expect(await runSessionCli([fake.issueRequestToken()], deps({ ...env(), KITE_API_SECRET: "wrong" }))).toBe(1);
    expect(lines[0]).toContain("Invalid `checksum`");
    expect(await loadAccessToken(store.sql, fake.apiKey)).toEqual(before);
  });
});

describe("scripts/kite-session.ts, as a person runs it", () => {
  const root = new URL("../../..", import.meta.url).pathname;
  const run = async (args: string[], extra: Record<string, string>) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(KITE_|DATABASE_URL)/.test(k)) env[k] = v;
    const proc = Bun.spawn([process.execPath, "scripts/kite-session.ts", ...args], { cwd: root, env: { ...env, ...extra }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { out, err, code };
  };

  test("without its settings it says what to set, and exits 2", async () => {
    const r = await run([], {});
    expect(r.code).toBe(2);
    expect(r.err).toContain("usage: bun run kite:session <request_token>");
  });

  test("stores the session in the database at DATABASE_URL", async () => {
    const pg = await startEmbedded();
    try {
      const r = await run([fake.issueRequestToken()], {
        KITE_API_KEY: fake.apiKey,
        KITE_API_SECRET: fake.apiSecret,
        KITE_BASE_URL: fake.url,
        DATABASE_URL: pg.url,
      });
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      // PGlite serves one client at a time: connect only after the script has exited.
      const sql = postgres({ ...pg.options, onnotice: () => {} });
      try {
        expect(await loadAccessToken(sql, fake.apiKey)).toMatchObject({ access_token: fake.accessToken, user_id: fake.userId });
      } finally {
        await sql.end();
      }
    } finally {
      await pg.stop();
    }
  }, 60_000);
});
