/**
 * Bench section "api": the REST API under concurrent load from a separate process.
 *
 * Starts the real gateway as a process (embedded mode: in-process log, PGlite, memory cache;
 * FEED=none so only our requests make work; BENCH_CPU_PROF=1 runs it under --cpu-prof, the
 * profile and its markdown summary land in the run's outDir), seeds a portfolio with a few positions, then drives
 * it with the load generator (scripts/bench/loadgen.ts, its own process):
 *
 * - GET /api/v1/portfolios/paper, `concurrency` keep-alive connections for `seconds`;
 * - POST /api/v1/orders, MARKET orders alternating BUY and SELL over four instruments (risk limits
 *   raised first so the pipeline accepts them all), same concurrency and duration. A POST is
 *   answered once the order is in the orders table and published to paper.signals.raw; the
 *   pipeline (risk → execution → portfolio) runs behind it on the same two cores.
 *
 * - POST /api/v1/orders at a fixed 100 requests/s first (open loop: each request starts on
 *   time whatever the ones before it take), then at saturation as above;
 * - POST /api/v1/orders at saturation again with trading HALTED: each order refused by risk, so
 *   no execution, portfolio or ledger work follows it (what the pipeline behind takes);
 * - the reference, after the gateway stopped: the bare order route (bare-order-route.ts: one
 *   row to the same kind of store, one record to the same kind of log, no gateway), at 100/s and
 *   at saturation, the same way; then the same route writing our intake's own statement (the
 *   order, its first event, its outbox row) instead of its one row: the floor of our write.
 *
 * Keys: api.get_portfolio_rps, api.get_portfolio_ms.{p50,p90,p99,max}, api.post_order_rps,
 * api.post_order_ms.{p50,p90,p99,max}, api.post_order_ms.at_100.{p50,p90,p99,p999,max},
 * api.*_errors, api.concurrency, reference.bare_order_route_rps,
 * reference.bare_order_route_ms.at_100.*, reference.bare_order_statement_rps (and _ms.at_100.*),
 * api.post_order_vs_bare_route (saturation, ours over
 * the bare route's), api.post_order_halted_rps (and _ms.p99, _vs_bare_route); the distributed ones under api.distributed.* and reference.distributed.*
 * when the distributed mode runs (see run()).
 */
import { httpLoadProcess, type HttpResult } from "./loadgen.ts";
import { apiClient, BENCH_KEY, cleanRedis, freshSchema, ROOT, spawnGateway, stageStats, type GatewayProc } from "./support.ts";
import { track } from "./children.ts";
import { logLines } from "../lib/proc.ts";
import type { BenchOptions, BenchSection } from "./types.ts";

/** Instruments of the sample master, with a last price on their tick grid (₹0.05). */
export const BENCH_INSTRUMENTS = [
  { token: 738561, price: "1290.45" }, // RELIANCE
  { token: 2953217, price: "4120.05" }, // TCS
  { token: 408065, price: "1885.20" }, // INFY
  { token: 341249, price: "1743.30" }, // HDFCBANK
] as const;

export interface BenchGateway {
  url: string;
  key: string;
  gw: GatewayProc;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * The gateway as a process, embedded, FEED=none, with a bootstrap key; ready (every stage worker
 * running) and with the risk limits raised and a tick for each bench instrument.
 */
export async function startBenchGateway(env: Record<string, string> = {}, args: string[] = []): Promise<BenchGateway> {
  const key = BENCH_KEY;
  const gw = await spawnGateway(env, args);
  const stop = async () => {
    await gw.stop(20_000);
  };
  try {
    const url = gw.url;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    };
    const deadline = Date.now() + 60_000;
    while ((await call("GET", "/ready").catch(() => ({ status: 0 }))).status !== 200) {
      if (Date.now() > deadline) throw new Error(`the gateway is not ready after 60 s: ${JSON.stringify((await call("GET", "/ready")).body)}`);
      await Bun.sleep(200);
    }
    // With Kafka, the stage groups resume where an earlier run left them: let a backlog drain
    // first (nothing handled for 1.5 s), or it would compete with what is measured.
    const api = apiClient(url, key);
    let handled = -1;
    let since = Date.now();
    const quietBy = Date.now() + 180_000;
    for (;;) {
      const total = Object.values(await stageStats(api)).reduce((n, x) => n + (x.handled ?? 0), 0);
      if (total !== handled) [handled, since] = [total, Date.now()];
      else if (Date.now() - since >= 1_500) break;
      if (Date.now() > quietBy) throw new Error(`the stages are still busy with an earlier run's backlog after 180 s (${handled} handled)`);
      await Bun.sleep(250);
    }
    const limits = await call("PUT", "/api/v1/risk/paper/limits", {
      max_orders_per_second: 10_000_000,
      max_orders_per_strategy_per_day: 1_000_000_000,
      max_position_quantity: 1_000_000_000,
      max_daily_loss: "100000000000.00",
    });
    if (limits.status !== 200) throw new Error(`PUT risk limits: ${limits.status} ${JSON.stringify(limits.body)}`);
    // The risk stage reloads its limits every second: orders sent sooner meet the defaults (10 a
    // second). The WebSocket section, which starts its orders ~0.3 s after this, counted 3,000 to
    // 6,000 pushes missing in 3 of 5 long runs: orders risk had rejected as RATE_LIMITED, limit 10.
    await Bun.sleep(1_500);
    const ticks = await call("POST", "/api/v1/ticks", { ticks: BENCH_INSTRUMENTS.map((i) => ({ instrument_token: i.token, last_price: i.price })) });
    if (ticks.status !== 202) throw new Error(`POST ticks: ${ticks.status} ${JSON.stringify(ticks.body)}`);
    return { url, key, gw, call, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A MARKET order body for the bench. */
export const marketOrder = (token: number, side: "BUY" | "SELL", quantity = 1, extra: Record<string, unknown> = {}) => ({
  broker: "paper",
  instrument_token: token,
  side,
  quantity,
  order_type: "MARKET",
  strategy_id: "bench",
  ...extra,
});

/** The Redis database the distributed gateway of this section uses. */
const API_REDIS_DB = 9;

/** The open loop's rate, requests/s: a person's orders, and a few strategies', at an ordinary pace. */
export const PACED_RATE = 100;

const paced = (prefix: string, r: HttpResult | undefined): BenchSection => ({
  [`${prefix}_ms.at_${PACED_RATE}.p50`]: r ? r.latency_ms.p50 : null,
  [`${prefix}_ms.at_${PACED_RATE}.p90`]: r ? r.latency_ms.p90 : null,
  [`${prefix}_ms.at_${PACED_RATE}.p99`]: r ? r.latency_ms.p99 : null,
  [`${prefix}_ms.at_${PACED_RATE}.p999`]: r ? r.latency_ms.p999 : null,
  [`${prefix}_ms.at_${PACED_RATE}.max`]: r ? r.latency_ms.max : null,
  [`${prefix}_at_${PACED_RATE}_errors`]: r ? r.errors : null,
});

const flat = (prefix: string, r: HttpResult | undefined): BenchSection => ({
  [`${prefix}_rps`]: r ? r.rps : null,
  [`${prefix}_ms.p50`]: r ? r.latency_ms.p50 : null,
  [`${prefix}_ms.p90`]: r ? r.latency_ms.p90 : null,
  [`${prefix}_ms.p99`]: r ? r.latency_ms.p99 : null,
  [`${prefix}_ms.max`]: r ? r.latency_ms.max : null,
  [`${prefix}_requests`]: r ? r.ok : null,
  [`${prefix}_errors`]: r ? r.errors : null,
});

type LoadOpts = { concurrency: number; seconds: number; pacedSeconds: number; client: "raw" | "fetch" };

/** The order bodies the load cycles through: MARKET, BUY and SELL over the bench instruments. */
function orderBodies(): string[] {
  const bodies: string[] = [];
  for (let n = 0; n < 64; n++) {
    const i = BENCH_INSTRUMENTS[n % BENCH_INSTRUMENTS.length]!;
    bodies.push(JSON.stringify(marketOrder(i.token, Math.floor(n / BENCH_INSTRUMENTS.length) % 2 === 0 ? "BUY" : "SELL")));
  }
  return bodies;
}

/** POST orders at PACED_RATE, then at saturation, against `url` (the gateway's or the bare route's). */
async function postOrders(opts: BenchOptions, what: string, url: string, headers: Record<string, string>, o: LoadOpts): Promise<{ paced: HttpResult; saturated: HttpResult }> {
  const load = { url: `${url}/api/v1/orders`, method: "POST" as const, headers: { ...headers, "content-type": "application/json" }, bodies: orderBodies() };
  const show = (r: HttpResult) => `p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, max ${r.latency_ms.max} ms, ${r.errors} errors${r.first_error ? ` (${r.first_error})` : ""}`;
  opts.log(`api: ${what}: POST /api/v1/orders at ${PACED_RATE}/s (open loop), ${o.pacedSeconds} s`);
  // A longer warm-up than the closed loop's: a distributed gateway's consumers are still settling
  // into their groups for a few seconds after /ready, and 100/s shows every stall.
  const paced = await httpLoadProcess({ ...load, rate: PACED_RATE, concurrency: o.concurrency, durationMs: o.pacedSeconds * 1000, warmupMs: 5_000 });
  opts.log(`api: ${what}: POST order at ${PACED_RATE}/s: ${show(paced)}`);
  opts.log(`api: ${what}: POST /api/v1/orders (MARKET), ${o.concurrency} connections, ${o.seconds} s`);
  const saturated = await httpLoadProcess({ ...load, concurrency: o.concurrency, durationMs: o.seconds * 1000, client: o.client });
  opts.log(`api: ${what}: POST order ${saturated.rps} req/s, ${show(saturated)}`);
  return { paced, saturated };
}

/** The bare order route (bare-order-route.ts) as a process with `env`; its URL and its stop. */
async function startBareRoute(env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(KAFKA_|REDIS_URL|DATABASE_URL|DATA_DIR)/.test(k))) as Record<string, string>;
  const proc = track(Bun.spawn([process.execPath, "scripts/bench/bare-order-route.ts"], { cwd: ROOT, env: { ...clean, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const { stderr, waitFor } = logLines(proc, { keep: 100 });
  const stop = async () => {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    await proc.exited;
    clearTimeout(timer);
  };
  try {
    const up = await Promise.race([
      waitFor((l) => typeof l.url === "string", 60_000),
      proc.exited.then(() => Promise.reject(new Error(`the bare order route exited with ${proc.exitCode}: ${stderr().slice(-2000)}`))),
    ]);
    return { url: String(up.url), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * GET portfolio then POST orders against one gateway, then POST orders against the bare route
 * with the same store and log (the gateway stopped first: the two never share the cores).
 */
async function measure(opts: BenchOptions, mode: string, env: Record<string, string>, prefix: string, refPrefix: string, o: LoadOpts): Promise<BenchSection> {
  opts.log(`api: starting the gateway (${mode}, FEED=none)`);
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${opts.outDir}`] : [];
  const g = await startBenchGateway(env, profile);
  let get: HttpResult | undefined;
  let post: { paced: HttpResult; saturated: HttpResult } | undefined;
  let bare: { paced: HttpResult; saturated: HttpResult } | undefined;
  let halted: HttpResult | undefined;
  let ownWrite: { paced: HttpResult; saturated: HttpResult } | undefined;
  try {
    // A portfolio with a position per instrument, so the GET has something to format.
    for (const [n, i] of BENCH_INSTRUMENTS.entries()) {
      const r = await g.call("POST", "/api/v1/orders", marketOrder(i.token, "BUY", 10 + n));
      if (r.status !== 202) throw new Error(`seed order: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const p = await g.call("GET", "/api/v1/portfolios/paper");
      if (p.status === 200 && (p.body.portfolio?.positions?.length ?? 0) >= BENCH_INSTRUMENTS.length) break;
      if (Date.now() > deadline) throw new Error(`the seed orders did not reach the portfolio in 30 s: ${JSON.stringify(p.body)}`);
      await Bun.sleep(100);
    }

    const headers = { authorization: `Bearer ${g.key}` };
    if (!process.env.BENCH_API_SKIP_GET) {
      opts.log(`api: ${mode}: GET /api/v1/portfolios/paper, ${o.concurrency} connections, ${o.seconds} s (${o.client} client)`);
      get = await httpLoadProcess({ url: `${g.url}/api/v1/portfolios/paper`, headers, concurrency: o.concurrency, durationMs: o.seconds * 1000, client: o.client });
      opts.log(`api: ${mode}: GET portfolio ${get.rps} req/s, p50 ${get.latency_ms.p50} ms, p99 ${get.latency_ms.p99} ms, ${get.errors} errors${get.first_error ? ` (${get.first_error})` : ""}`);
    }
    post = await postOrders(opts, mode, g.url, headers, o);
    // The floor under the saturation: the same POSTs with trading HALTED, so risk refuses each
    // order and no execution, portfolio or ledger work follows it on the same cores.
    if (!process.env.BENCH_API_SKIP_HALTED) {
      const halt = await g.call("POST", "/api/v1/risk/paper/state", { state: "HALTED", reason: "bench: the order path without the pipeline behind it" });
      if (halt.status !== 200) throw new Error(`POST risk state: ${halt.status} ${JSON.stringify(halt.body)}`);
      await Bun.sleep(1_500);
      opts.log(`api: ${mode}: POST /api/v1/orders with trading HALTED, ${o.concurrency} connections, ${o.seconds} s`);
      try {
        halted = await httpLoadProcess({ url: `${g.url}/api/v1/orders`, method: "POST", headers: { ...headers, "content-type": "application/json" }, bodies: orderBodies(), concurrency: o.concurrency, durationMs: o.seconds * 1000, client: o.client });
      } finally {
        // On Kafka the state lives in the control topic, past this gateway: the next run must not start HALTED.
        const active = await g.call("POST", "/api/v1/risk/paper/state", { state: "ACTIVE" });
        if (active.status !== 200) throw new Error(`POST risk state ACTIVE: ${active.status} ${JSON.stringify(active.body)}`);
      }
      opts.log(`api: ${mode}: POST order (HALTED) ${halted.rps} req/s, p50 ${halted.latency_ms.p50} ms, p99 ${halted.latency_ms.p99} ms, ${halted.errors} errors`);
    }
  } finally {
    await g.stop();
  }
  if (!process.env.BENCH_API_SKIP_BARE) {
    opts.log(`api: starting the bare order route (${mode})`);
    const b = await startBareRoute(env);
    try {
      bare = await postOrders(opts, `${mode}, bare route`, b.url, {}, o);
    } finally {
      await b.stop();
    }
    // The floor of our own write: the bare route with our intake's statement (three rows) instead of one row.
    opts.log(`api: starting the bare order route with our order statement (${mode})`);
    const w = await startBareRoute({ ...env, BARE_STATEMENT: "order" });
    try {
      ownWrite = await postOrders(opts, `${mode}, bare route, our statement`, w.url, {}, o);
    } finally {
      await w.stop();
    }
  }
  const ratio = post && bare && bare.saturated.rps > 0 ? Math.round((post.saturated.rps / bare.saturated.rps) * 100) / 100 : null;
  return {
    ...flat(`${prefix}get_portfolio`, get),
    ...flat(`${prefix}post_order`, post?.saturated),
    ...paced(`${prefix}post_order`, post?.paced),
    ...flat(`${refPrefix}bare_order_route`, bare?.saturated),
    ...paced(`${refPrefix}bare_order_route`, bare?.paced),
    ...flat(`${refPrefix}bare_order_statement`, ownWrite?.saturated),
    ...paced(`${refPrefix}bare_order_statement`, ownWrite?.paced),
    [`${prefix}post_order_vs_bare_route`]: ratio,
    [`${prefix}post_order_halted_rps`]: halted ? halted.rps : null,
    [`${prefix}post_order_halted_ms.p99`]: halted ? halted.latency_ms.p99 : null,
    [`${prefix}post_order_halted_vs_bare_route`]: halted && bare && bare.saturated.rps > 0 ? Math.round((halted.rps / bare.saturated.rps) * 100) / 100 : null,
  };
}

/**
 * BENCH_API_MODES: "embedded", "distributed" (Kafka, PostgreSQL in a fresh schema, Redis: the
 * infra of `bun run infra:up`), or both (the default). The embedded numbers are
 * api.* and reference.*, the distributed ones api.distributed.* and reference.distributed.*.
 * BENCH_API_SKIP_GET / BENCH_API_SKIP_BARE / BENCH_API_SKIP_HALTED leave out the GET load / the
 * bare route / the HALTED run (profiling the order path alone).
 */
export async function run(opts: BenchOptions): Promise<BenchSection> {
  const o: LoadOpts = {
    concurrency: Number(process.env.BENCH_API_CONCURRENCY ?? 64),
    seconds: Number(process.env.BENCH_API_SECONDS ?? (opts.long ? 60 : 10)),
    pacedSeconds: Number(process.env.BENCH_API_PACED_SECONDS ?? (opts.long ? 60 : 15)),
    client: (process.env.BENCH_API_CLIENT ?? "raw") as "raw" | "fetch",
  };
  const modes = (process.env.BENCH_API_MODES ?? "embedded,distributed").split(",").map((m) => m.trim());
  const out: BenchSection = { "api.concurrency": o.concurrency, "api.seconds": o.seconds };
  if (modes.includes("embedded")) Object.assign(out, await measure(opts, "embedded", {}, "api.", "reference.", o));
  if (modes.includes("distributed")) {
    // A Redis database of its own (unless the URL names one): clearing it never touches the read
    // models of another gateway or test on the same Redis.
    const url = new URL(opts.redisUrl);
    if (url.pathname === "" || url.pathname === "/") url.pathname = `/${API_REDIS_DB}`;
    const redisUrl = url.toString();
    const removed = await cleanRedis(redisUrl);
    if (removed > 0) opts.log(`api: removed ${removed} stale gateway keys from Redis`);
    const db = await freshSchema(opts.databaseUrl);
    try {
      const env = { KAFKA_BROKERS: opts.kafkaBrokers, REDIS_URL: redisUrl, DATABASE_URL: db.url };
      Object.assign(out, await measure(opts, "distributed", env, "api.distributed.", "reference.distributed.", o));
    } finally {
      await db.drop().catch(() => {});
      await cleanRedis(redisUrl).catch(() => 0);
    }
  }
  return out;
}
