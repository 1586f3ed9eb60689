/**
 * The embedded gateway is crash-safe: run as a user runs it (a child process, DATA_DIR in a temp
 * folder), killed with SIGKILL, started again on the same folder. Everything a user sees comes
 * back: orders, trades, positions, cash, strategies, limits, API keys (BOOTSTRAP_API_KEY and one
 * made with `bun run apikey`); a client_order_id retry is the same order; the LIMIT order that was
 * resting still fills. And a second gateway on the same folder is refused.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE } from "../../src/store/index.ts";
import { apiClient, until } from "../support/api-client.ts";
import { cleanEnv, spawnGateway } from "../support/gateway-process.ts";
import { dataDirGateways } from "../support/data-dir-gateways.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const KEY = "ap_crash_test_key_0123456789abc";
const RELIANCE = 738561;
const root = new URL("../..", import.meta.url).pathname;
const gateways = dataDirGateways(KEY);
const { running, start } = gateways;

/** What a user sees, minus what is a mark to market (the last prices are a cache: a restart forgets them until the next tick). */
async function userView(api: ReturnType<typeof apiClient>) {
  const orders = (await api.get("/api/v1/orders?limit=100")).body.orders as Array<Record<string, unknown>>;
  const portfolio = (await api.get("/api/v1/portfolios/paper")).body.portfolio as Record<string, any>;
  return {
    orders: orders.map((o) => ({ ...o })).sort((a, b) => String(a.order_id).localeCompare(String(b.order_id))),
    trades: (await api.get("/api/v1/trades?broker=paper")).body.trades,
    cash: portfolio.cash,
    realised_pnl: portfolio.realised_pnl,
    fees: portfolio.fees,
    positions: (portfolio.positions as Array<Record<string, unknown>>).map(({ last_price: _l, unrealised_pnl: _u, ...p }) => p),
    strategies: (await api.get("/api/v1/strategies")).body,
    limits: (await api.get("/api/v1/risk/paper/limits")).body,
  };
}

test("kill -9 of the embedded gateway and a start on the same DATA_DIR: the user sees the same orders, trades, portfolio, settings and keys", async () => {
  const dataDir = await gateways.dataDir("alpha-crash-");

  // A key made with `bun run apikey` before the first start, on the same data directory.
  const made = Bun.spawn([process.execPath, "scripts/apikey.ts", "create", "--scope", "read", "--name", "dashboard"], { cwd: root, env: cleanEnv({ DATA_DIR: dataDir }), stdout: "pipe", stderr: "pipe" });
  const [readKey, madeErr, madeCode] = await Promise.all([new Response(made.stdout).text(), new Response(made.stderr).text(), made.exited]);
  expect([madeCode, madeErr]).toEqual([0, expect.stringContaining("shown only this once")]);

  const first = await start(dataDir);
  const api = first.api;
  const order = async (body: Record<string, unknown>) => {
    const r = await api.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, ...body });
    expect(r.status).toBe(202);
    return r.body.order as Record<string, any>;
  };
  const settled = (a: ReturnType<typeof apiClient>, id: string, status: string) =>
    until(`order ${id} to be ${status}`, async () => ((await a.get(`/api/v1/orders/${id}`)).body.order?.status === status ? true : undefined), 15_000);

  // Settings changed from their seeds.
  for (const id of ["momentum_fast", "mean_reversion_bank"]) expect((await api.patch(`/api/v1/strategies/${id}`, { enabled: false })).status).toBe(200);
  expect((await api.patch("/api/v1/strategies/momentum_fast", { params: { lookback: 30, threshold_bps: 15, quantity: 1 } })).status).toBe(200);
  expect((await api.put("/api/v1/risk/paper/limits", { max_order_quantity: 400 })).status).toBe(200);

  expect((await api.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: "1290.00", exchange_ts: new Date().toISOString() }] })).status).toBe(202);
  const buy = await order({ side: "BUY", quantity: 3, order_type: "MARKET", client_order_id: "crash-buy-1" });
  await settled(api, buy.order_id, "FILLED");
  const sell = await order({ side: "SELL", quantity: 1, order_type: "MARKET", client_order_id: "crash-sell-1" });
  await settled(api, sell.order_id, "FILLED");
  const limit = await order({ side: "BUY", quantity: 1, order_type: "LIMIT", price: "1280.00", client_order_id: "crash-limit-1" });
  await settled(api, limit.order_id, "OPEN");
  await until("the position", async () => {
    const r = await api.get("/api/v1/portfolios/paper");
    return r.body.portfolio?.positions?.some((p: any) => p.strategy_id === "manual" && p.quantity === 2) ? true : undefined;
  });
  const before = await userView(api);
  expect(before.orders).toHaveLength(3);
  expect(before.trades).toHaveLength(2);
  expect(Number(before.cash)).toBeLessThan(1_000_000);

  first.gw.proc.kill("SIGKILL");
  expect(await first.gw.proc.exited).not.toBe(0);
  // What a kill -9 leaves: the lock of a process that is gone.
  expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);

  const t0 = Date.now();
  const second = await start(dataDir);
  const api2 = second.api;
  // The portfolio may answer 503 while the stage rebuilds it from the ledger; never an empty one.
  await until("the rebuilt portfolio", async () => {
    const r = await api2.get("/api/v1/portfolios/paper");
    if (r.status === 503) {
      expect(r.body.error.code).toBe("READ_MODEL_REBUILDING");
      expect(r.headers.get("retry-after")).toBe("1");
      return undefined;
    }
    expect(r.status).toBe(200);
    return true;
  });
  const restartMs = Date.now() - t0;
  const after = await userView(api2);
  expect(after).toEqual(before);
  console.log(`restart on the same DATA_DIR to a rebuilt portfolio: ${restartMs} ms`);

  // Both keys still open the door; the read key only reads.
  expect((await apiClient(second.url, readKey.trim()).get("/api/v1/orders")).status).toBe(200);
  expect((await apiClient(second.url, readKey.trim()).post("/api/v1/orders", { broker: "paper" })).status).toBe(403);

  // A retry of an order placed before the crash is that order, not a new one.
  const retry = await api2.post("/api/v1/orders", { broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 3, order_type: "MARKET", client_order_id: "crash-buy-1" });
  expect([retry.status, retry.body.order.order_id]).toEqual([200, buy.order_id]);

  // The LIMIT order still rests, and fills when the market trades through it.
  expect((await api2.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: "1285.00", exchange_ts: new Date().toISOString() }] })).status).toBe(202);
  await Bun.sleep(300);
  expect((await api2.get(`/api/v1/orders/${limit.order_id}`)).body.order.status).toBe("OPEN");
  expect((await api2.post("/api/v1/ticks", { ticks: [{ instrument_token: RELIANCE, last_price: "1279.95", exchange_ts: new Date().toISOString() }] })).status).toBe(202);
  await settled(api2, limit.order_id, "FILLED");
  expect((await api2.get(`/api/v1/orders/${limit.order_id}`)).body.order.average_price).toBe("1280.00");

  // A second gateway on the same folder is refused, clearly, and the first goes on.
  const intruder = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY, DATA_DIR: dataDir });
  running.push(intruder);
  expect(await intruder.proc.exited).toBe(2);
  expect(intruder.stderr()).toContain(`DATA_DIR: ${dataDir} is in use by another process (pid ${second.gw.proc.pid}`);
  expect((await api2.get("/api/v1/orders")).status).toBe(200);

  const { code } = await second.gw.interrupt();
  expect(code).toBe(0);
  expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
}, 180_000);

test("with no BOOTSTRAP_API_KEY the development key is kept in the data directory: the same key after a restart, a new one once it is revoked", async () => {
  const dataDir = await gateways.dataDir("alpha-devkey-");
  const run = async () => {
    const gw = spawnGateway({ PORT: "0", FEED: "none", DATA_DIR: dataDir });
    running.push(gw);
    const url = await gw.url(60_000);
    const line = await gw.waitFor((l) => typeof l.api_key === "string", 5_000);
    const ok = (await apiClient(url, String(line.api_key)).get("/api/v1/orders")).status;
    expect((await gw.interrupt()).code).toBe(0);
    return { key: String(line.api_key), reused: line.reused, ok };
  };
  const apikey = async (...args: string[]) => {
    const p = Bun.spawn([process.execPath, "scripts/apikey.ts", ...args], { cwd: root, env: cleanEnv({ DATA_DIR: dataDir }), stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    return out;
  };

  const first = await run();
  expect(first).toMatchObject({ reused: false, ok: 200 });
  const second = await run();
  expect(second).toEqual({ key: first.key, reused: true, ok: 200 });

  const dev = (await apikey("list")).split("\n").find((l) => l.endsWith("dev"))!;
  await apikey("revoke", dev.split("  ")[0]!);
  const third = await run();
  expect(third).toMatchObject({ reused: false, ok: 200 });
  expect(third.key).not.toBe(first.key);
}, 120_000);
