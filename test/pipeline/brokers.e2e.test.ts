/**
 * Processes per broker on one Kafka, PostgreSQL and Redis: a paper-only and a zerodha-only
 * gateway (against the test Kite server) each keep their broker's flow whole, a second
 * zerodha-only process shares zerodha's work and takes it over when the first is killed, a
 * process whose brokers overlap a running group's is refused, and processes with both brokers
 * still split the work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import postgres from "postgres";
import { apiClient, until } from "../support/api-client.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { infra, needs } from "../support/infra.ts";
import { clearReadModels } from "../support/read-models.ts";
import { startFakeKite, type FakeKite } from "../kite/server/kite-server.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const KEY = "ap_brokers_e2e_key_0123456789";
const KITE = { apiKey: "kite_brokers_key", apiSecret: "kite_brokers_secret", accessToken: "kite_brokers_token" };
const RELIANCE = 738561;
const INFY = 408065;
const FINAL = ["FILLED", "REJECTED", "CANCELLED", "FAILED"];
/** An order's outcome as the assertions compare it: a refusal carries its reason. */
const outcome = (o: any): string => (o.status === "FILLED" ? "FILLED" : `${o.status} ${o.reason_code ?? ""} ${o.reason ?? ""}`);

const up = (await needs("kafka")) && (await needs("redis")) && (await needs("postgres"));

// Skipped only when Kafka, Redis or PostgreSQL does not answer and REQUIRE_INFRA is unset; with
// REQUIRE_INFRA=1 (as in CI) needs() has already registered a failing test for it (test/support/infra.ts).
describe.skipIf(!up)("one process per broker on Kafka", () => {
  const redis = new Redis(infra.redisUrl, { lazyConnect: true });
  const dbs: Array<{ url: string; drop: () => Promise<void> }> = [];
  const gateways: GatewayProcess[] = [];
  const afterEvery: Array<() => void> = [];
  let kite: FakeKite;

  beforeAll(async () => {
    kite = await startFakeKite(KITE);
    kite.setLastPrice("INFY", 188_520);
  });

  /** Stops what a test left running, so the next one starts beside nothing. */
  async function stopAll() {
    for (const stop of afterEvery.splice(0)) stop();
    for (const g of gateways.splice(0)) if (g.proc.exitCode === null) await g.interrupt();
  }

  afterAll(async () => {
    await stopAll();
    for (const db of dbs) await db.drop();
    redis.disconnect();
    await kite?.stop();
  });

  /** A fresh database and clean read models: this run's numbers only. */
  async function services(): Promise<Record<string, string>> {
    await clearReadModels(redis);
    const db = await freshDatabaseUrl();
    dbs.push(db);
    return { KAFKA_BROKERS: infra.kafkaBrokers, REDIS_URL: infra.redisUrl, DATABASE_URL: db.url };
  }

  const zerodhaEnv = {
    MARKET_HOURS: "off",
    KITE_API_KEY: KITE.apiKey,
    KITE_API_SECRET: KITE.apiSecret,
    KITE_ACCESS_TOKEN: KITE.accessToken,
  };

  async function start(env: Record<string, string>, brokers: string, extra: Record<string, string> = {}) {
    const gw = spawnGateway({ ...env, PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY, ACTIVE_BROKERS: brokers, KITE_BASE_URL: kite.url, ...(brokers.includes("zerodha") ? zerodhaEnv : {}), ...extra });
    gateways.push(gw);
    const url = await gw.url(30_000);
    const api = apiClient(url, KEY);
    await until(`the ${brokers} gateway to be ready`, async () => (await api.get("/ready")).status === 200, 60_000);
    return { gw, url, api };
  }

  /** The partitions and messages each stage of a process has, from /ready. */
  async function stages(api: ReturnType<typeof apiClient>): Promise<Array<{ name: string; partitions: number; handled: number }>> {
    const checks = (await api.get("/ready")).body.checks as Array<{ name: string; detail?: { partitions?: number; handled?: number } }>;
    return checks.filter((c) => c.name.startsWith("stage.")).map((c) => ({ name: c.name, partitions: c.detail?.partitions ?? 0, handled: c.detail?.handled ?? 0 }));
  }

  const tick = async (api: ReturnType<typeof apiClient>, token: number, price: string) =>
    expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: token, last_price: price, exchange_ts: new Date().toISOString() }] })).status).toBe(202);

  async function place(api: ReturnType<typeof apiClient>, broker: string, token: number, client: string): Promise<string> {
    const r = await api.post("/api/v1/orders", { broker, instrument_token: token, side: "BUY", quantity: 1, order_type: "MARKET", client_order_id: client });
    expect(r.status).toBe(202);
    // Risk allows 10 orders a second per broker (max_orders_per_second): stay under it.
    await Bun.sleep(150);
    return r.body.order.order_id as string;
  }

  /**
   * Waits until every order is final; a zerodha order open at Kite gets Kite's postback (sent to
   * `postbackTo`, as Kite would). Returns the orders as the API shows them.
   */
  async function settle(api: ReturnType<typeof apiClient>, ids: readonly string[], postbackTo: () => string, ms = 60_000) {
    const sent = new Set<string>();
    return until(
      `${ids.length} orders to reach a final state`,
      async () => {
        const orders = await Promise.all(ids.map(async (id) => (await api.get(`/api/v1/orders/${id}`)).body.order));
        for (const o of orders) {
          const venue = o?.events?.find((e: any) => e.type === "order.submitted")?.data?.venue_order_id as string | undefined;
          if (o?.status === "OPEN" && venue && !sent.has(venue)) {
            if ((await kite.sendPostback(`${postbackTo()}/api/v1/kite/postback`, venue)).status === 200) sent.add(venue);
          }
        }
        return orders.every((o) => FINAL.includes(o?.status)) ? orders : undefined;
      },
      ms,
    );
  }

  /** Each order at Kite once: the tag is our order's, and no tag was sent twice. */
  function kiteTags(): string[] {
    return kite.orderRequests().filter((r) => r.method === "POST").map((r) => r.form.tag!);
  }

  afterEach(stopAll);

  test("a paper-only and a zerodha-only process each keep their broker's flow whole; a second zerodha process joins and the first is killed: nothing stuck, nothing doubled", async () => {
    const env = await services();
    const paper = await start(env, "paper");
    const zerodha1 = await start(env, "zerodha");
    // Prices keep coming, as from a feed: a stage that takes over a partition learns its price from the next tick.
    const feed = setInterval(() => {
      void tick(paper.api, RELIANCE, "1290.00").catch(() => {});
      void tick(paper.api, INFY, "1885.20").catch(() => {});
    }, 250);
    afterEvery.push(() => clearInterval(feed));
    await tick(paper.api, RELIANCE, "1290.00");
    await tick(paper.api, INFY, "1885.20");

    // Each process holds every partition of its own groups: neither took the other's.
    for (const api of [paper.api, zerodha1.api]) {
      await until("each stage to own its partitions", async () => (await stages(api)).every((s) => s.partitions > 0), 30_000);
    }

    const paperIds: string[] = [];
    for (let i = 0; i < 20; i++) paperIds.push(await place(paper.api, "paper", i % 2 === 0 ? RELIANCE : INFY, `p-${i}`));
    const zerodhaIds: string[] = [];
    for (let i = 0; i < 5; i++) zerodhaIds.push(await place(zerodha1.api, "zerodha", INFY, `z-${i}`));

    const paperOrders = await settle(paper.api, paperIds, () => zerodha1.url);
    expect(paperOrders.map(outcome)).toEqual(paperIds.map(() => "FILLED"));
    const zerodhaOrders = await settle(zerodha1.api, zerodhaIds, () => zerodha1.url);
    expect(zerodhaOrders.map(outcome)).toEqual(zerodhaIds.map(() => "FILLED"));
    expect(kiteTags()).toHaveLength(5);

    // A second zerodha-only process joins its group and takes a share of every stage.
    const zerodha2 = await start(env, "zerodha");
    await until("the second zerodha process to share every stage", async () => (await stages(zerodha2.api)).every((s) => s.partitions > 0), 60_000);
    const more: string[] = [];
    for (let i = 0; i < 6; i++) more.push(await place(i % 2 === 0 ? zerodha1.api : zerodha2.api, "zerodha", INFY, `z-more-${i}`));
    // Orders acknowledged by the first process, which dies at once: the second sends them.
    zerodha1.gw.proc.kill(9);
    await zerodha1.gw.proc.exited;
    const settled = await settle(zerodha2.api, more, () => zerodha2.url, 90_000);
    expect(settled.map(outcome)).toEqual(more.map(() => "FILLED"));
    const tags = kiteTags();
    expect(tags).toHaveLength(11);
    expect(new Set(tags).size).toBe(11);

    // Paper never stopped: its process still fills.
    const late = await place(paper.api, "paper", RELIANCE, "p-late");
    expect((await settle(paper.api, [late], () => zerodha2.url)).map(outcome)).toEqual(["FILLED"]);
    // Nothing left in flight anywhere.
    for (const status of ["PENDING", "OPEN"]) expect((await zerodha2.api.get(`/api/v1/orders?status=${status}`)).body.orders).toEqual([]);

    // A process whose brokers overlap a running group's (paper,zerodha beside paper and zerodha) refuses to start.
    const mixed = spawnGateway({ ...env, PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY, ACTIVE_BROKERS: "paper,zerodha", KITE_BASE_URL: kite.url, ...zerodhaEnv });
    gateways.push(mixed);
    expect(await mixed.proc.exited).not.toBe(0);
    expect(mixed.stderr() + JSON.stringify(mixed.lines)).toContain("alpha-panda.risk.paper");

    for (const g of [paper.gw, zerodha2.gw]) expect((await g.interrupt()).code).toBe(0);
  }, 300_000);

  test("processes with both brokers still split every stage, and both brokers' orders reach their final state", async () => {
    const env = await services();
    const first = await start(env, "paper,zerodha");
    const second = await start(env, "paper,zerodha");
    await tick(first.api, RELIANCE, "1290.00");
    await tick(first.api, INFY, "1885.20");
    await until("both processes to share every stage", async () => (await stages(first.api)).every((s) => s.partitions > 0) && (await stages(second.api)).every((s) => s.partitions > 0), 60_000);

    const before = kiteTags().length;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await place(i % 2 === 0 ? first.api : second.api, i < 6 ? "paper" : "zerodha", i % 3 === 0 ? RELIANCE : INFY, `m-${i}`));
    const orders = await settle(first.api, ids, () => first.url);
    expect(orders.map(outcome)).toEqual(ids.map(() => "FILLED"));
    expect(kiteTags().length - before).toBe(4);
    // Both processes handled messages in every stage: the work was split, not duplicated.
    for (const api of [first.api, second.api]) expect((await stages(api)).every((s) => s.handled > 0)).toBe(true);
    const sql = postgres(env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      expect([...(await sql`select order_id from ledger_fills group by order_id having count(*) > 1`)]).toEqual([]);
    } finally {
      await sql.end({ timeout: 5 });
    }
    for (const g of [first.gw, second.gw]) expect((await g.interrupt()).code).toBe(0);
  }, 240_000);
});
