/**
 * OpenAlgo's quotes on the real services: ticks posted to the gateway go over Kafka to the strategy
 * stage's worker, which writes the quotes to Redis, where the gateway reads them. The instrument
 * is one the other tests leave alone (ULTRACEMCO), and its quote is cleared from Redis first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { QUOTES_KEY } from "../../src/market/quotes.ts";
import { apiClient, until } from "../support/api-client.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";
import { contractCall, oaClient } from "./support.ts";

slowTests();

const KEY = "ap_openalgo_quotes_kafka_0123456789";
const ULTRACEMCO = 2952193;

const up = (await needs("kafka")) && (await needs("redis")) && (await needs("postgres"));

// Skipped only without Kafka, Redis or PostgreSQL and without REQUIRE_INFRA=1: needs() then registers a failing test instead (test/support/infra.ts).
describe.skipIf(!up)("OpenAlgo quotes over Kafka and Redis", () => {
  let gw: GatewayProcess;
  let db: { url: string; drop: () => Promise<void> };
  const redis = new Redis(infra.redisUrl, { lazyConnect: true });

  beforeAll(async () => {
    await redis.hdel(QUOTES_KEY, String(ULTRACEMCO));
    db = await freshDatabaseUrl();
    gw = spawnGateway({ KAFKA_BROKERS: infra.kafkaBrokers, REDIS_URL: infra.redisUrl, DATABASE_URL: db.url, PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY });
  }, 60_000);
  afterAll(async () => {
    if (gw) expect((await gw.interrupt()).code).toBe(0);
    await db?.drop();
    redis.disconnect();
  });

  test("posted ticks become the quote the gateway answers, through Redis", async () => {
    const url = await gw.url(60_000);
    const api = apiClient(url, KEY);
    const oa = oaClient(url, KEY);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 60_000);
    for (const [last, bid, ask] of [["11488.00", "11487.00", "11489.00"], ["11520.50", undefined, undefined], ["11470.25", "11470.00", "11471.00"]] as const) {
      const tick: Record<string, unknown> = { instrument_token: ULTRACEMCO, last_price: last, volume: 500, exchange_ts: new Date().toISOString() };
      if (bid) Object.assign(tick, { bid, ask });
      expect((await api.post("/api/v1/ticks", { ticks: [tick] })).status).toBe(202);
    }
    const quote = await until("the quote of the last tick", async () => {
      const r = await oa.call("quotes", { symbol: "ULTRACEMCO", exchange: "NSE" });
      return r.status === 200 && r.body.data.ltp === 11470.25 ? r : undefined;
    }, 30_000, 100);
    expect(quote.body.data).toEqual({ open: 11488, high: 11520.5, low: 11470.25, ltp: 11470.25, bid: 11470, ask: 11471, prev_close: 0, volume: 500, oi: 0 });
    const inRedis = JSON.parse((await redis.hget(QUOTES_KEY, String(ULTRACEMCO)))!);
    expect(inRedis).toMatchObject({ instrument_token: ULTRACEMCO, ltp: 1_147_025, open: 1_148_800, high: 1_152_050 });
    expect((await contractCall(oa, "depth", { symbol: "ULTRACEMCO", exchange: "NSE" })).body.data.bids[0]).toEqual({ price: 11470, quantity: 0 });
  }, 120_000);
});
