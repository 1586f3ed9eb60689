/**
 * Two gateway processes sharing the stages on Kafka: a control set through one gateway's API is
 * in force for an order placed at once through the other's, whichever process's risk worker
 * judges it. The controls live on the shared Kafka's `paper.control`: the test leaves paper
 * ACTIVE under the default limits.
 */
import { describe, expect, test } from "bun:test";
import { ControlReader } from "../../src/control/index.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { apiClient, orderOutcome, until } from "../support/api-client.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_two_gateways_controls_0123456789";
const RELIANCE = 738561;
const ROUNDS = 20;

type Api = ReturnType<typeof apiClient>;
const up = (await needs("kafka")) && (await needs("redis")) && (await needs("postgres"));


const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

if (up) {
  describe("controls with two gateway processes sharing the stages on Kafka", () => {
    test(`a control through one gateway judges an order placed at once through the other, ${ROUNDS} rounds each way`, async () => {
      const db = await freshDatabaseUrl();
      const env = { KAFKA_BROKERS: infra.kafkaBrokers, REDIS_URL: infra.redisUrl, DATABASE_URL: db.url, PORT: "0", BOOTSTRAP_API_KEY: KEY };
      const gateways: GatewayProcess[] = [];
      const samples: number[] = [];
      const timed = async (call: () => Promise<{ status: number }>) => {
        const t0 = performance.now();
        const r = await call();
        samples.push(performance.now() - t0);
        expect(r.status).toBe(200);
      };
      let api1: Api | undefined;
      try {
        const first = spawnGateway(env);
        gateways.push(first);
        api1 = apiClient(await first.url(30_000), KEY);
        const second = spawnGateway({ ...env, FEED: "none" });
        gateways.push(second);
        const api2 = apiClient(await second.url(30_000), KEY);
        const sharing = async (api: Api) => {
          const checks = (await api.get("/ready")).body.checks as Array<{ name: string; detail?: { partitions?: number } }>;
          const stages = checks.filter((c) => c.name.startsWith("stage."));
          return stages.length === 4 && stages.every((c) => (c.detail?.partitions ?? 0) > 0);
        };
        await until("both processes to share every stage", async () => (await sharing(api1!)) && (await sharing(api2)), 90_000, 250);
        await timed(() => api1!.post("/api/v1/risk/paper/state", { state: "ACTIVE" }));
        await timed(() => api1!.put("/api/v1/risk/paper/limits", { max_orders_per_second: 100_000, max_order_quantity: 1000 }));
        await until("a RELIANCE price", async () => (await orderOutcome(api2, { instrument_token: RELIANCE, quantity: 1 }, 15_000)).status === "FILLED", 30_000, 250);

        for (let round = 0; round < ROUNDS; round++) {
          await timed(() => api1!.post("/api/v1/risk/paper/state", { state: "HALTED", reason: `round ${round}` }));
          expect([round, await orderOutcome(api2, { instrument_token: RELIANCE, quantity: 1 }, 15_000)]).toMatchObject([round, { status: "REJECTED", reason_code: "TRADING_HALTED" }]);
          await timed(() => api2.post("/api/v1/risk/paper/state", { state: "ACTIVE" }));
          expect([round, (await orderOutcome(api1!, { instrument_token: RELIANCE, quantity: 1 }, 15_000)).status]).toEqual([round, "FILLED"]);
        }
        for (let round = 0; round < ROUNDS; round++) {
          await timed(() => api1!.put("/api/v1/risk/paper/limits", { max_order_quantity: 1 }));
          expect([round, await orderOutcome(api2, { instrument_token: RELIANCE, quantity: 5 }, 15_000)]).toMatchObject([round, { status: "REJECTED", reason_code: "MAX_QUANTITY" }]);
          await timed(() => api2.put("/api/v1/risk/paper/limits", { max_order_quantity: 1000 }));
          expect([round, (await orderOutcome(api1!, { instrument_token: RELIANCE, quantity: 5 }, 15_000)).status]).toEqual([round, "FILLED"]);
        }
        // Both processes project the same topic: their REST reads agree.
        const risk1 = (await api1.get("/api/v1/risk/paper/limits")).body;
        expect((await api2.get("/api/v1/risk/paper/limits")).body).toEqual(risk1);
        console.log(`control API call to 200, Kafka (two gateways): n=${samples.length} p50=${quantile(samples, 0.5).toFixed(1)} ms p99=${quantile(samples, 0.99).toFixed(1)} ms max=${Math.max(...samples).toFixed(1)} ms`);
      } finally {
        if (api1 && gateways[0]?.proc.exitCode === null) {
          await api1.post("/api/v1/risk/paper/state", { state: "ACTIVE" }).catch(() => {});
          await api1.put("/api/v1/risk/paper/limits", { max_order_quantity: 1000, max_orders_per_second: 10 }).catch(() => {});
        }
        for (const g of gateways) if (g.proc.exitCode === null) expect((await g.interrupt()).code).toBe(0);
        await db.drop();
      }
    }, 300_000);

    test("the cost of caughtUp() on Kafka, once a batch: one ListOffsets when the reader is already there", async () => {
      const log = new KafkaLog({ brokers: infra.kafkaBrokers.split(","), clientId: "caught-up-cost" });
      const reader = new ControlReader(log, ["paper"], { name: "cost" });
      try {
        await reader.start();
        await reader.caughtUp();
        const ms: number[] = [];
        for (let i = 0; i < 200; i++) {
          const t0 = performance.now();
          await reader.caughtUp();
          ms.push(performance.now() - t0);
        }
        console.log(`caughtUp() on Kafka, caught up already: n=200 p50=${quantile(ms, 0.5).toFixed(2)} ms p99=${quantile(ms, 0.99).toFixed(2)} ms`);
        expect(quantile(ms, 0.5)).toBeLessThan(50);
      } finally {
        await reader.close();
        await log.close();
      }
    });
  });
}
