/**
 * The kill switch and the limits as a user meets them, on the embedded gateway with the simulated
 * feed running: a control's 200, then an order at once, 20 times in a row each way; and the
 * settings read through REST after a restart equal what was set.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiClient, orderOutcome, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_controls_e2e_key_0123456789abc";
const RELIANCE = 738561;
const ROUNDS = 20;

type Api = ReturnType<typeof apiClient>;


/** Times a control call: the ms from the request to its 200. */
async function timed(samples: number[], call: () => Promise<{ status: number }>): Promise<void> {
  const t0 = performance.now();
  const r = await call();
  samples.push(performance.now() - t0);
  expect(r.status).toBe(200);
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

describe("controls take effect for the very next order (embedded, simulated feed running)", () => {
  let gw: GatewayProcess;
  let api: Api;
  const samples: number[] = [];

  beforeAll(async () => {
    gw = spawnGateway({ PORT: "0", BOOTSTRAP_API_KEY: KEY });
    api = apiClient(await gw.url(30_000), KEY);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 30_000);
    // The simulated feed's RELIANCE price, so a MARKET order can fill.
    await until("a RELIANCE price", async () => (await orderOutcome(api, { instrument_token: RELIANCE, quantity: 1 }, 10_000)).status === "FILLED", 20_000, 200);
    // Many orders a second here, with the seeded strategies trading too: the throttle is not under test.
    expect((await api.put("/api/v1/risk/paper/limits", { max_orders_per_second: 100_000 })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    if (samples.length) console.log(`control API call to 200, embedded: n=${samples.length} p50=${quantile(samples, 0.5).toFixed(1)} ms p99=${quantile(samples, 0.99).toFixed(1)} ms max=${Math.max(...samples).toFixed(1)} ms`);
    if (gw) expect((await gw.interrupt()).code).toBe(0);
  });

  test(`kill switch → an order at once → REJECTED TRADING_HALTED; ACTIVE → the next order judged normally; ${ROUNDS} times`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await timed(samples, () => api.post("/api/v1/risk/paper/state", { state: "HALTED", reason: `round ${round}` }));
      expect([round, await orderOutcome(api, { instrument_token: RELIANCE, quantity: 1 }, 10_000)]).toMatchObject([round, { status: "REJECTED", reason_code: "TRADING_HALTED" }]);
      await timed(samples, () => api.post("/api/v1/risk/paper/state", { state: "ACTIVE" }));
      expect([round, (await orderOutcome(api, { instrument_token: RELIANCE, quantity: 1 }, 10_000)).status]).toEqual([round, "FILLED"]);
    }
  }, 120_000);

  test(`a lowered limit (1 unit) rejects an order for 5 at once; a raised one lets the next through; ${ROUNDS} times`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await timed(samples, () => api.put("/api/v1/risk/paper/limits", { max_order_quantity: 1 }));
      expect([round, await orderOutcome(api, { instrument_token: RELIANCE, quantity: 5 }, 10_000)]).toMatchObject([round, { status: "REJECTED", reason_code: "MAX_QUANTITY" }]);
      await timed(samples, () => api.put("/api/v1/risk/paper/limits", { max_order_quantity: 1000 }));
      expect([round, (await orderOutcome(api, { instrument_token: RELIANCE, quantity: 5 }, 10_000)).status]).toEqual([round, "FILLED"]);
    }
  }, 120_000);
});

describe("settings survive a restart (embedded, DATA_DIR)", () => {
  const dir = mkdtempSync(join(tmpdir(), "alpha-panda-controls-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the trading state, limits and strategies read through REST after a restart equal what was set", async () => {
    const env = { PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY, DATA_DIR: dir };
    let gw = spawnGateway(env);
    let api = apiClient(await gw.url(30_000), KEY);
    await until("ready", async () => (await api.get("/ready")).status === 200, 30_000);
    expect((await api.post("/api/v1/risk/paper/state", { state: "REDUCING", reason: "end of day" })).status).toBe(200);
    expect((await api.put("/api/v1/risk/paper/limits", { max_order_quantity: 7, max_daily_loss: "1234.50" })).status).toBe(200);
    expect((await api.patch("/api/v1/strategies/momentum_fast", { enabled: false, params: { lookback: 30, threshold_bps: 15, quantity: 2 } })).status).toBe(200);
    const created = await api.post("/api/v1/strategies", { id: "restart_probe", kind: "mean_reversion", params: { window: 20, entry_z: 2, exit_z: 0.5, quantity: 1 }, instruments: [408065], brokers: ["paper"] });
    expect(created.status).toBe(201);
    const before = { risk: (await api.get("/api/v1/risk/paper/limits")).body, strategies: (await api.get("/api/v1/strategies")).body };
    expect(before.risk.risk).toMatchObject({ state: "REDUCING", reason: "end of day" });
    expect(before.risk.risk.limits.max_order_quantity).toBe(7);
    expect((await gw.interrupt()).code).toBe(0);

    gw = spawnGateway(env);
    api = apiClient(await gw.url(30_000), KEY);
    try {
      await until("ready", async () => (await api.get("/ready")).status === 200, 30_000);
      const after = { risk: (await api.get("/api/v1/risk/paper/limits")).body, strategies: (await api.get("/api/v1/strategies")).body };
      expect(after).toEqual(before);
    } finally {
      expect((await gw.interrupt()).code).toBe(0);
    }
  }, 90_000);
});
