/**
 * The pipeline on the real services: the same scenarios as the embedded mode, a restart that
 * rebuilds the portfolio from the ledger, and two gateway processes sharing the stages.
 */
import { afterAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import postgres from "postgres";
import { apiClient, until } from "../support/api-client.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { infra, needs } from "../support/infra.ts";
import { clearReadModels } from "../support/read-models.ts";
import { KEY, pipelineScenarios } from "./scenarios.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const up = (await needs("kafka")) && (await needs("redis")) && (await needs("postgres"));

if (up) {
  const redis = new Redis(infra.redisUrl, { lazyConnect: true });
  const dbs: Array<{ url: string; drop: () => Promise<void> }> = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    redis.disconnect();
  });

  async function services(): Promise<Record<string, string>> {
    await clearReadModels(redis);
    const db = await freshDatabaseUrl();
    dbs.push(db);
    return { KAFKA_BROKERS: infra.kafkaBrokers, REDIS_URL: infra.redisUrl, DATABASE_URL: db.url };
  }

  const query = async <T>(url: string, text: string): Promise<T[]> => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      return (await sql.unsafe(text)) as unknown as T[];
    } finally {
      await sql.end({ timeout: 5 });
    }
  };

  let scenarioDb = "";
  pipelineScenarios("Kafka + Redis + PostgreSQL", {
    env: async () => {
      const env = await services();
      scenarioDb = env.DATABASE_URL!;
      return env;
    },
    cachedPosition: async (broker, key) => {
      const v = await redis.hget(`${broker}:positions`, key);
      return v ? JSON.parse(v) : undefined;
    },
    ledgerBrokers: async () => (await query<{ broker: string }>(scenarioDb, "select distinct broker from ledger_fills order by 1")).map((r) => r.broker),
  });

  describe("restart", () => {
    test("after a restart, the portfolio is rebuilt from the ledger and equals what it was", async () => {
      const env = { ...(await services()), PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY };
      let gw = spawnGateway(env);
      let api = apiClient(await gw.url(30_000), KEY);
      await until("ready", async () => (await api.get("/ready")).status === 200, 30_000);
      const ticks = () => api.post("/api/v1/ticks", { ticks: [{ instrument_token: 738561, last_price: "1290.00", exchange_ts: new Date().toISOString() }, { instrument_token: 408065, last_price: "1885.20", exchange_ts: new Date().toISOString() }] });
      await ticks();
      const ids: string[] = [];
      for (const [token, side, qty] of [[738561, "BUY", 5], [408065, "BUY", 2], [738561, "SELL", 2]] as const) {
        const r = await api.post("/api/v1/orders", { broker: "paper", instrument_token: token, side, quantity: qty, order_type: "MARKET" });
        ids.push(r.body.order.order_id);
        await until("the fill", async () => (await api.get(`/api/v1/orders/${r.body.order.order_id}`)).body.order.status === "FILLED");
      }
      const before = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
      expect(before.positions.length).toBe(2);
      expect((await gw.interrupt()).code).toBe(0);

      // Lose the read model entirely: only the ledger in PostgreSQL is left to rebuild from.
      await redis.del("paper:positions");
      gw = spawnGateway(env);
      api = apiClient(await gw.url(30_000), KEY);
      const order = (p: any) => ({ ...p, positions: [...p.positions].sort((a: any, b: any) => a.instrument_token - b.instrument_token) });
      const rebuilt = await until("the rebuilt portfolio", async () => {
        const p = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
        return p?.positions?.length === 2 ? p : undefined;
      }, 30_000);
      // The ledger gives it all back but the marks: last prices come from the ticks (no cache
      // holds them for a stage), each position marked at its last fill until its next tick.
      const unmarked = (p: any) => ({ ...order(p), unrealised_pnl: undefined, positions: order(p).positions.map((x: any) => ({ ...x, last_price: undefined, unrealised_pnl: undefined })) });
      expect(unmarked(rebuilt)).toEqual(unmarked(before));
      // The same ticks again: the same portfolio.
      await ticks();
      const after = await until("the portfolio marked by the ticks", async () => {
        const p = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
        return p?.unrealised_pnl === before.unrealised_pnl ? p : undefined;
      }, 30_000);
      expect((await gw.interrupt()).code).toBe(0);
      expect(order(after)).toEqual(order(before));
    }, 120_000);
  });

  describe("two gateway processes sharing the stages", () => {
    test("every validated signal is filled exactly once", async () => {
      const env = await services();
      const gateways: GatewayProcess[] = [];
      try {
        const first = spawnGateway({ ...env, PORT: "0", BOOTSTRAP_API_KEY: KEY, FEED_INTERVAL_MS: "50" });
        gateways.push(first);
        const api1 = apiClient(await first.url(30_000), KEY);
        const second = spawnGateway({ ...env, PORT: "0", BOOTSTRAP_API_KEY: KEY, FEED: "none" });
        gateways.push(second);
        const api2 = apiClient(await second.url(30_000), KEY);

        // Both processes own partitions of every stage and both handle messages.
        const busy = async (api: typeof api1) => {
          const checks = (await api.get("/ready")).body.checks as Array<{ name: string; detail?: { partitions?: number; handled?: number } }>;
          const stages = checks.filter((c) => c.name.startsWith("stage."));
          return stages.length === 4 && stages.every((c) => (c.detail?.partitions ?? 0) > 0 && (c.detail?.handled ?? 0) > 0);
        };
        await until("both processes to share every stage", async () => (await busy(api1)) && (await busy(api2)), 60_000);
        await until("strategy fills", async () => (await api2.get("/api/v1/orders?status=FILLED&limit=20")).body.orders.length >= 20, 60_000);

        // Stop the process with the feed; the other takes over its partitions and drains them.
        expect((await first.interrupt()).code).toBe(0);
        await until(
          "no order left in flight",
          async () => {
            const pending = (await api2.get("/api/v1/orders?status=PENDING")).body.orders.length;
            const open = (await api2.get("/api/v1/orders?status=OPEN")).body.orders.length;
            return pending === 0 && open === 0;
          },
          60_000,
        );
        // The read model catches up on the taken-over partitions: then every validated signal
        // has exactly one fill.
        const count = async (sql: string) => (await query<{ n: number }>(env.DATABASE_URL!, sql))[0]!.n;
        const counts = await until(
          "validated signals, filled orders and ledger fills to agree",
          async () => {
            const c = {
              validated: await count("select count(*)::int as n from order_events where type = 'signal.validated'"),
              filled: await count("select count(*)::int as n from orders where status = 'FILLED'"),
              fills: await count("select count(*)::int as n from ledger_fills"),
            };
            return c.validated === c.filled && c.fills === c.filled ? c : undefined;
          },
          60_000,
        );
        expect(counts.validated).toBeGreaterThanOrEqual(20);
        const twice = await query<{ order_id: string }>(env.DATABASE_URL!, "select order_id from ledger_fills group by order_id having count(*) > 1");
        expect(twice).toEqual([]);
      } finally {
        for (const g of gateways) if (g.proc.exitCode === null) expect((await g.interrupt()).code).toBe(0);
      }
    }, 240_000);
  });
}
