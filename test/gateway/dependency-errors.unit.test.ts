/**
 * Every dependency failure is a 503 with Retry-After, never a 500: the raw errors of the
 * PostgreSQL client (postgres.js), the Redis client (ioredis) and the Kafka client
 * (@platformatic/kafka) map to STORE_UNAVAILABLE / CACHE_UNAVAILABLE / LOG_UNAVAILABLE in one
 * place (dependencyError, src/errors.ts), on every route; a bug stays a 500. A stalled database
 * (accepts connections, never answers) gets a bounded wait, on the API key lookup too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MultipleErrors, NetworkError, ProtocolError, TimeoutError } from "@platformatic/kafka";
import { MaxRetriesPerRequestError } from "ioredis/built/errors/index.js";
import postgres from "postgres";
import { toApiError } from "../../gateway/api/errors.ts";
import { ApiKeys } from "../../gateway/api/auth.ts";
import { errorResponse } from "../../gateway/api/schemas.ts";
import { AlphaError, dependencyError } from "../../src/errors.ts";
import { withinStore } from "../../src/store/wait.ts";
import { harness, type Harness } from "../api/support.ts";

const pgConnection = (code: string) => Object.assign(new Error(`write ${code} 127.0.0.1:15432`), { code, errno: code, address: "127.0.0.1", port: 15432 });
const pgServer = (code: string, message: string) => new postgres.PostgresError({ code, message, severity: "FATAL" } as never);
const redisReply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });

const CASES: Array<[string, () => unknown, string]> = [
  ["postgres.js ECONNREFUSED", () => pgConnection("ECONNREFUSED"), "STORE_UNAVAILABLE"],
  ["postgres.js ECONNRESET", () => pgConnection("ECONNRESET"), "STORE_UNAVAILABLE"],
  ["postgres.js CONNECTION_CLOSED", () => pgConnection("CONNECTION_CLOSED"), "STORE_UNAVAILABLE"],
  ["postgres.js CONNECTION_ENDED", () => pgConnection("CONNECTION_ENDED"), "STORE_UNAVAILABLE"],
  ["postgres.js CONNECTION_DESTROYED", () => pgConnection("CONNECTION_DESTROYED"), "STORE_UNAVAILABLE"],
  ["postgres.js CONNECT_TIMEOUT", () => pgConnection("CONNECT_TIMEOUT"), "STORE_UNAVAILABLE"],
  ["PostgreSQL 57P01 admin shutdown", () => pgServer("57P01", "terminating connection due to administrator command"), "STORE_UNAVAILABLE"],
  ["PostgreSQL 57P02 crash shutdown", () => pgServer("57P02", "terminating connection because of crash of another server process"), "STORE_UNAVAILABLE"],
  ["PostgreSQL 57P03 cannot connect now", () => pgServer("57P03", "the database system is starting up"), "STORE_UNAVAILABLE"],
  ["PostgreSQL 08006 connection failure", () => pgServer("08006", "connection failure"), "STORE_UNAVAILABLE"],
  ["PostgreSQL 53300 too many connections", () => pgServer("53300", "sorry, too many clients already"), "STORE_UNAVAILABLE"],
  ["ioredis MaxRetriesPerRequestError", () => new MaxRetriesPerRequestError(1), "CACHE_UNAVAILABLE"],
  ["ioredis closed connection", () => new Error("Connection is closed."), "CACHE_UNAVAILABLE"],
  ["Redis LOADING", () => redisReply("LOADING Redis is loading the dataset in memory"), "CACHE_UNAVAILABLE"],
  ["Kafka NetworkError", () => new NetworkError("Connection to 127.0.0.1:19092 failed."), "LOG_UNAVAILABLE"],
  ["Kafka TimeoutError", () => new TimeoutError("Request timed out."), "LOG_UNAVAILABLE"],
  ["Kafka retries exhausted", () => new MultipleErrors("Producing messages failed.", [new NetworkError("Connection closed")]), "LOG_UNAVAILABLE"],
  ["our LOG_UNAVAILABLE", () => new AlphaError("LOG_UNAVAILABLE", "down", { canRetry: true }), "LOG_UNAVAILABLE"],
  ["our TIMEOUT (a bounded wait)", () => new AlphaError("TIMEOUT", "no answer", { canRetry: true }), "TIMEOUT"],
];

describe("dependencyError and toApiError", () => {
  test.each(CASES)("%s → 503 with Retry-After", (_, make, code) => {
    const err = make();
    expect(dependencyError(err)?.code).toBe(code as never);
    expect(dependencyError(err)?.canRetry).toBe(true);
    const api = toApiError(err);
    expect(api?.status).toBe(503);
    expect(api?.code).toBe(code as never);
    expect(Number(api?.headers["Retry-After"])).toBeGreaterThan(0);
  });

  test.each([
    ["a syntax error", () => pgServer("42601", 'syntax error at or near "selec"')],
    ["a constraint", () => pgServer("23505", "duplicate key value violates unique constraint")],
    ["Redis WRONGTYPE", () => redisReply("WRONGTYPE Operation against a key holding the wrong kind of value")],
    ["a Kafka protocol refusal", () => new ProtocolError("INVALID_TOPIC_EXCEPTION")],
    ["a TypeError", () => new TypeError("x is undefined")],
  ])("%s is not a dependency failure (a 500)", (_, make) => {
    expect(dependencyError(make())).toBeUndefined();
    expect(toApiError(make())).toBeUndefined();
  });

  test("a real refused connection from postgres.js maps to STORE_UNAVAILABLE", async () => {
    const sql = postgres("postgres://x:y@127.0.0.1:1/none", { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      const err = await sql`select 1`.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(toApiError(err)).toMatchObject({ status: 503, code: "STORE_UNAVAILABLE" });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

/** A "database" that accepts connections and never answers: a stalled server. */
function stalledServer() {
  const sockets: Array<{ end(): void }> = [];
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void sockets.push(s), data: () => {} } });
  return { port: server.port, stop: () => (sockets.forEach((s) => s.end()), server.stop(true)) };
}

describe("bounded waits", () => {
  test("a statement on a stalled database is a STORE_UNAVAILABLE after the bound, not a hang", async () => {
    const db = stalledServer();
    const sql = postgres(`postgres://x:y@127.0.0.1:${db.port}/none`, { max: 1, connect_timeout: 30, onnotice: () => {} });
    try {
      const t0 = Date.now();
      const err = await withinStore(sql`select 1`, "read", 300).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(err).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
      expect(toApiError(err)).toMatchObject({ status: 503 });
    } finally {
      db.stop();
      await sql.end({ timeout: 0 });
    }
  });

  test("the API key lookup on a stalled database is a 503 within 2 s", async () => {
    const db = stalledServer();
    const sql = postgres(`postgres://x:y@127.0.0.1:${db.port}/none`, { max: 1, connect_timeout: 30, onnotice: () => {} });
    try {
      const keys = new ApiKeys(sql);
      const t0 = Date.now();
      const err = await keys.verify("ap_0123456789abcdefghijklmnopqrstuvwxyz").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(toApiError(err)).toMatchObject({ status: 503, code: "STORE_UNAVAILABLE" });
    } finally {
      db.stop();
      await sql.end({ timeout: 0 });
    }
  });
});

describe("on every route", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  }, 30_000);
  afterAll(() => h?.close());

  const ROUTES = [
    ["POST", "/api/v1/orders", { broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET" }],
    ["GET", "/api/v1/orders", undefined],
    ["GET", "/api/v1/orders/abc", undefined],
    ["DELETE", "/api/v1/orders/abc", undefined],
    ["GET", "/api/v1/portfolios/paper", undefined],
    ["GET", "/api/v1/strategies", undefined],
    ["GET", "/api/v1/risk/paper/limits", undefined],
    ["GET", "/api/v1/trades?broker=paper", undefined],
    ["POST", "/api/v1/ticks", { ticks: [{ instrument_token: 738561, last_price: "2451.35" }] }],
  ] as const;

  test.each(CASES.filter(([name]) => !name.startsWith("our")))("%s raised by the services → 503 on every route", async (_, make, code) => {
    h.services.failure = make() as Error;
    try {
      for (const [m, p, body] of ROUTES) {
        const r = await h.call(m, p, { body });
        expect({ route: `${m} ${p}`, status: r.status }).toEqual({ route: `${m} ${p}`, status: 503 });
        expect(errorResponse.parse(r.json).error.code).toBe(code);
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    } finally {
      h.services.failure = undefined;
    }
  });
});
