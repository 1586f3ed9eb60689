/**
 * One fault scenario, end to end: fresh services (topics, consumer groups, schema, cache),
 * gateway processes (FEED=none; the harness posts every instrument's price once a second, as an
 * external feed would), a deterministic flow of FLOW.orders orders during which one fault is
 * injected, a settle time, then the counts:
 *
 * - accepted: answered 2xx (on some attempt); refused: never, within the client's retries;
 * - terminal / stuck: accepted orders FILLED, REJECTED, CANCELLED or FAILED / not, FLOW.settleMs
 *   after the fault ended and the flow stopped (polled with GET /orders/:id);
 * - lost: accepted, then unknown to GET /orders/:id and to GET /orders by client_order_id;
 * - duplicated: a fill twice in the ledger, more filled than ordered, or a fill of an order we
 *   never placed;
 * - mismatches: an order's filled quantity (API) against the ledger; fills on orders.filled (the
 *   log) against the ledger; GET /portfolios cash, quantities and realised P&L against the fold
 *   of the ledger's fills (src/portfolio's evolve); a portfolio served empty right after the fault
 *   while the ledger held fills;
 * - dlq: the DLQs read straight from Kafka; entries the fault planted (f) against entries nobody
 *   expected;
 * - 5xx other than 503 over every call the harness made;
 * - recovery: from the fault's end (a service answering again, a restarted gateway listening, or
 *   the kill for a gateway not restarted) to the first order sent after it being accepted and
 *   FILLED (its updated_at).
 *
 * Embedded (g) has no ledger or log to read from outside: the ledger is GET /trades.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { decodeEnvelope } from "../../src/events/envelope.ts";
import { toPaise, toRupees } from "../../src/money.ts";
import { evolve, initialPortfolio, positionKey, type PortfolioState } from "../../src/portfolio/index.ts";
import { dlqName, topicName, allTopics } from "../../src/topics.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { Client, placeOrder, type OrderSpec, type Placed } from "./client.ts";
import { freshKafka, flushRedis, privateServices, readTopics, type PrivateServices } from "./services.ts";

export const KEY = "ap_faults_harness_key_0123456789";
const STARTING_CASH_PAISE = 100_000_000; // the gateway's default STARTING_CASH
const TERMINAL = new Set(["FILLED", "REJECTED", "CANCELLED", "FAILED"]);

/** The flow trades these (token → price, paise); the resting order of (d) uses its own. */
export const FLOW_PRICES: Record<number, number> = {
  738561: 129_000, // RELIANCE
  2953217: 412_005, // TCS
  408065: 188_520, // INFY
  1270529: 129_810, // ICICIBANK
  779521: 81_265, // SBIN
  424961: 47_615, // ITC
  2939649: 361_250, // LT
  1510401: 116_740, // AXISBANK
};
export const RESTING_TOKEN = 341249; // HDFCBANK
const RESTING_PRICE = 174_330;

/** Tunables: the defaults fit a 2-core machine (the whole run under ~8 minutes). */
export const FLOW = {
  orders: Number(process.env.FAULTS_ORDERS ?? 200),
  /** Orders started per second. */
  rate: 25,
  /** Orders in flight at once. */
  concurrency: 16,
  /** The fault starts once this share of the orders has been started. */
  faultAt: 0.3,
  /** Orders held back until the fault is over: recovery is measured on them. */
  after: 40,
  /** How long accepted orders get to end after the fault ended and the flow stopped. */
  settleMs: 20_000,
  recoveryLimitMs: 10_000,
};

export interface Counts {
  orders: number;
  accepted: number;
  /** Never answered 2xx within the client's retries. */
  refused: number;
  terminal: number;
  filled: number;
  /** Accepted, then ended FAILED or REJECTED (allowed, but shown). */
  failed: number;
  stuck: number;
  lost: number;
  duplicated: number;
  mismatches: number;
  dlq: number;
  dlqExpected: number;
  dlqUnexpected: number;
  other5xx: number;
  s503: number;
  /** POST /orders attempts answered after 2 s or not at all (shown; not a failure by itself). */
  slowOrders: number;
  recoveryMs: number | null;
}

export interface Result {
  id: string;
  title: string;
  counts: Counts;
  pass: boolean;
  failures: string[];
  notes: string[];
  durationMs: number;
  detail: Record<string, unknown>;
}

interface Gw {
  proc: GatewayProcess;
  url: string;
  port: number;
  env: Record<string, string>;
  alive: boolean;
}

/** What a scenario's fault gets to work with. */
export interface FaultContext {
  services?: PrivateServices;
  gateways: Gw[];
  /** kill -9 of a gateway process. */
  killGateway(i: number): Promise<void>;
  /** SIGINT to a gateway process (a graceful stop, as for a deploy); resolves once it exited. */
  stopGateway(i: number): Promise<void>;
  /** Starts gateway i again on its port and environment; resolves when it listens. */
  restartGateway(i: number): Promise<void>;
  /** Produces raw messages straight to a topic (Kafka). */
  produce(messages: Array<{ topic: string; key: string; value: string | Uint8Array }>): Promise<void>;
  /** Sets the price our feed posts for a token (paise). */
  setPrice(token: number, paise: number): void;
  note(text: string): void;
  /** DLQ entries this fault is expected to cause, with a marker each carries. */
  expectDlq(markers: string[]): void;
}

export interface Scenario {
  id: string;
  title: string;
  mode: "distributed" | "embedded";
  gateways?: number;
  /** A LIMIT BUY resting below the market before the fault, which must fill after it. */
  resting?: boolean;
  fault(ctx: FaultContext): Promise<void>;
  afterFault?(ctx: FaultContext): Promise<void>;
}

const freePort = () => {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
};

/** The i-th order of the flow: deterministic; MARKET mostly, every fifth a marketable LIMIT. */
export function orderSpec(scenario: string, i: number, runId: string): OrderSpec {
  const tokens = Object.keys(FLOW_PRICES).map(Number);
  const token = tokens[i % tokens.length]!;
  const side = Math.floor(i / tokens.length) % 2 === 0 ? "BUY" : "SELL";
  const quantity = 1 + (i % 3);
  const spec: OrderSpec = { i, client_order_id: `${scenario}-${runId}-${i}`, instrument_token: token, side, quantity, order_type: "MARKET" };
  if (i % 5 === 4) {
    // 1% through the market, on the 5-paise grid: fills at once, within the 5% price band.
    const p = FLOW_PRICES[token]!;
    const limit = side === "BUY" ? Math.ceil((p * 1.01) / 5) * 5 : Math.floor((p * 0.99) / 5) * 5;
    Object.assign(spec, { order_type: "LIMIT", price: toRupees(limit) });
  }
  return spec;
}

/** Every gateway process a scenario started and has not stopped, for an interrupted run. */
const running = new Set<GatewayProcess>();

/** kill -9 of every gateway process still running (a run interrupted with Ctrl-C). */
export function killGateways(): void {
  for (const p of running) p.proc.kill("SIGKILL");
  running.clear();
}

async function stopGateway(g: Gw) {
  if (!g.alive) return;
  g.alive = false;
  g.proc.proc.kill("SIGINT");
  const done = await Promise.race([g.proc.proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
  if (!done) {
    g.proc.proc.kill("SIGKILL");
    await g.proc.proc.exited;
  }
}

/** Runs one scenario and returns its counts; never throws for what it measures. */
export async function runScenario(sc: Scenario): Promise<Result> {
  const t0 = Date.now();
  const runId = t0.toString(36);
  const notes: string[] = [];
  const gateways: Gw[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const prices: Record<number, number> = { ...FLOW_PRICES, [RESTING_TOKEN]: RESTING_PRICE };
  const expectedMarkers: string[] = [];
  let services: PrivateServices | undefined;
  let dbUrl: string | undefined;
  let dataDir: string | undefined;
  let current = "start";
  /** Where the scenario is, for a harness failure's message (and FAULTS_VERBOSE=1). */
  const step = (name: string) => {
    current = name;
    if (process.env.FAULTS_VERBOSE === "1") console.error(`faults: ${sc.id} ${((Date.now() - t0) / 1000).toFixed(1)} s: ${name}`);
  };

  try {
    // 1. Fresh state.
    // The flow sends 25 orders a second with one key and polls every order as it settles: more
    // than the default request budgets allow a person, on purpose; the faults are the subject here.
    const budgets = { RATE_LIMIT_READS_PER_S: "10000", RATE_LIMIT_READS_BURST: "20000", RATE_LIMIT_WRITES_PER_S: "1000", RATE_LIMIT_WRITES_BURST: "2000" };
    const env: Record<string, string> = { FEED: "none", BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: "info", ...budgets };
    if (sc.mode === "distributed") {
      services = await privateServices();
      const { KAFKA_BROKERS, REDIS_URL, DATABASE_URL } = services.infra.env;
      step("fresh topics and consumer groups");
      await freshKafka(KAFKA_BROKERS);
      await flushRedis(REDIS_URL);
      const schema = await freshDatabaseUrl(DATABASE_URL, `faults_${sc.id}`);
      cleanups.push(schema.drop);
      dbUrl = schema.url;
      Object.assign(env, { KAFKA_BROKERS, REDIS_URL, DATABASE_URL: schema.url });
    } else {
      // The embedded store's folder (DATA_DIR); a gateway without DATA_DIR keeps it in memory.
      dataDir = mkdtempSync(join(tmpdir(), "alpha-panda-faults-"));
      cleanups.push(async () => rmSync(dataDir!, { recursive: true, force: true }));
      env.DATA_DIR = dataDir;
    }

    step("gateways");
    // 2. Gateways.
    const start = async (g: Gw) => {
      g.proc = spawnGateway({ ...g.env, PORT: String(g.port) });
      const proc = g.proc;
      running.add(proc);
      void proc.proc.exited.then(() => running.delete(proc));
      g.url = await g.proc.url(60_000);
      g.alive = true;
    };
    for (let i = 0; i < (sc.gateways ?? 1); i++) {
      const g: Gw = { proc: undefined as never, url: "", port: freePort(), env: { ...env }, alive: false };
      gateways.push(g);
      await start(g);
    }
    const client = new Client(() => gateways.filter((g) => g.alive).map((g) => g.url), KEY);
    const live = () => gateways.filter((g) => g.alive);
    const until = async (what: string, probe: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (await probe().catch(() => false)) return true;
        await Bun.sleep(250);
      }
      notes.push(`timed out waiting for ${what}`);
      return false;
    };
    // Straight to each gateway, outside the client's counts: a 503 while starting is what /ready is for.
    const ready = (g: Gw) => fetch(`${g.url}/ready`, { headers: { authorization: `Bearer ${KEY}` }, signal: AbortSignal.timeout(5_000) }).then((r) => r.status === 200);
    await until("/ready", async () => (await Promise.all(gateways.map(ready))).every(Boolean), 60_000);

    // Settings every gateway start must see: strategies off (only our orders trade), risk limits
    // raised for the flow's rate. A crash that loses them is noted.
    // Right after a fault a dependency may still answer 503: read as a careful client would.
    const settled = async (call: () => Promise<{ status: number; body: Record<string, any> }>) => {
      let r = await call();
      for (let i = 0; i < 40 && (r.status === 503 || r.status === 0); i++) r = (await Bun.sleep(500), await call());
      return r;
    };
    const setup = async (after: string) => {
      const strategies = (await settled(() => client.get("/api/v1/strategies"))).body.strategies as Array<{ id: string; enabled: boolean }> | undefined;
      const enabled = (strategies ?? []).filter((s) => s.enabled);
      if (after && enabled.length > 0) notes.push(`${after}: strategies ${enabled.map((s) => s.id).join(", ")} were enabled again`);
      for (const s of enabled) await client.patch(`/api/v1/strategies/${s.id}`, { enabled: false });
      const limits = (await settled(() => client.get("/api/v1/risk/paper/limits"))).body.risk?.limits as Record<string, unknown> | undefined;
      if (after && limits?.max_orders_per_second !== 100_000) notes.push(`${after}: risk limits were back to ${JSON.stringify(limits?.max_orders_per_second)} orders/s`);
      await client.put("/api/v1/risk/paper/limits", { max_orders_per_second: 100_000, max_orders_per_strategy_per_day: 100_000, max_position_quantity: 100_000 });
    };
    await setup("");

    // Our feed: every token's price once a second (FEED=none), as an external feed would.
    let feeding = true;
    const postTicks = () =>
      client.post("/api/v1/ticks", {
        ticks: Object.entries(prices).map(([token, p]) => ({ instrument_token: Number(token), last_price: toRupees(p), exchange_ts: new Date().toISOString() })),
      });
    await postTicks();
    const feed = (async () => {
      while (feeding) {
        await Bun.sleep(1_000);
        if (feeding) await postTicks();
      }
    })();
    cleanups.push(async () => {
      feeding = false;
      await feed;
    });

    if ((sc.gateways ?? 1) > 1) {
      // Both processes own partitions of every stage before the fault.
      const shares = async (g: Gw) => {
        const r = await fetch(`${g.url}/ready`, { headers: { authorization: `Bearer ${KEY}` } });
        const checks = ((await r.json()) as { checks?: Array<{ name: string; detail?: { partitions?: number } }> }).checks ?? [];
        const stages = checks.filter((c) => c.name.startsWith("stage."));
        return stages.length >= 4 && stages.every((c) => (c.detail?.partitions ?? 0) > 0);
      };
      await until("both gateways to share every stage", async () => (await Promise.all(gateways.map(shares))).every(Boolean), 60_000);
    }
    await Bun.sleep(1_500); // the first ticks reach execution

    // (d)'s resting order: a LIMIT BUY 2% under the market, OPEN before the fault.
    const placed: Placed[] = [];
    let resting: Placed | undefined;
    if (sc.resting) {
      const limit = Math.floor((RESTING_PRICE * 0.98) / 5) * 5;
      resting = await placeOrder(client, {
        i: -1, client_order_id: `${sc.id}-${runId}-resting`, instrument_token: RESTING_TOKEN, side: "BUY", quantity: 5, order_type: "LIMIT", price: toRupees(limit),
      });
      placed.push(resting);
      await until("the resting order to be OPEN", async () => (await client.get(`/api/v1/orders/${resting!.orderId}`)).body.order?.status === "OPEN", 20_000);
    }

    step("the flow");
    // 3. The flow, with the fault.
    const ctx: FaultContext = {
      services,
      gateways,
      killGateway: async (i) => {
        const g = gateways[i]!;
        g.alive = false;
        g.proc.proc.kill("SIGKILL");
        await g.proc.proc.exited;
      },
      stopGateway: async (i) => stopGateway(gateways[i]!),
      restartGateway: async (i) => start(gateways[i]!),
      produce: async (messages) => {
        const { KafkaLog } = await import("../../src/log/kafka.ts");
        const log = new KafkaLog({ brokers: [services!.infra.env.KAFKA_BROKERS], clientId: "faults-injector" });
        try {
          const p = log.producer({ clientId: "faults-injector" });
          await p.send(messages);
          await p.close();
        } finally {
          await log.close();
        }
      },
      setPrice: (token, paise) => void (prices[token] = paise),
      note: (t) => void notes.push(t),
      expectDlq: (markers) => void expectedMarkers.push(...markers),
    };

    /** Fills the ledger holds now (PostgreSQL, or the API's trades when embedded). */
    const ledgerCount = async (): Promise<number | undefined> => {
      if (!dbUrl) {
        const r = await client.get("/api/v1/trades?broker=paper&limit=500");
        return r.status === 200 ? (r.body.trades ?? []).length : undefined;
      }
      const sql = postgres(dbUrl, { max: 1, onnotice: () => {}, connect_timeout: 3 });
      try {
        return (await sql`select count(*)::int as n from ledger_fills`)[0]!.n as number;
      } finally {
        await sql.end({ timeout: 2 });
      }
    };
    /** Right after the fault: a 200 with no position while the ledger holds fills is a portfolio served empty as if true. */
    const emptyPortfolioServed = async (): Promise<string | undefined> => {
      const r = await client.get("/api/v1/portfolios/paper");
      const fills = await ledgerCount();
      if (r.status !== 200 || !fills) return undefined;
      const positions = (r.body.portfolio?.positions ?? []) as unknown[];
      return positions.length === 0 ? `right after the fault GET /portfolios/paper answered 200 with no position while the ledger held ${fills} fills` : undefined;
    };
    let staleRead: string | undefined;

    const n = FLOW.orders;
    let faultStart = 0;
    let faultEnd = 0;
    let faultError: string | undefined;
    let startedCount = 0;
    let releaseFault!: () => void;
    const faultGate = new Promise<void>((r) => (releaseFault = r));
    const fault = (async () => {
      await faultGate;
      faultStart = Date.now();
      try {
        await sc.fault(ctx);
      } catch (err) {
        faultError = (err as Error).message;
      }
      faultEnd = Date.now();
      if (faultError) notes.push(`the fault failed: ${faultError}`);
      staleRead = await emptyPortfolioServed().catch(() => undefined);
      await setup("after the fault").catch(() => {});
    })();

    const inflight = new Set<Promise<void>>();
    const flowStart = Date.now();
    for (let i = 0; i < n; i++) {
      if (i === Math.floor(n * FLOW.faultAt)) releaseFault();
      if (i === n - FLOW.after) {
        await fault;
        if (sc.afterFault) await sc.afterFault(ctx);
      }
      const due = i >= n - FLOW.after ? 0 : flowStart + (i * 1000) / FLOW.rate - Date.now();
      if (due > 0) await Bun.sleep(due);
      while (inflight.size >= FLOW.concurrency) await Promise.race(inflight);
      const spec = orderSpec(sc.id, i, runId);
      const p = placeOrder(client, spec).then((r) => void placed.push(r));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      startedCount++;
    }
    await Promise.all(inflight);
    await fault;
    const flowEnd = Date.now();

    step("settle");
    // 4. Settle: accepted orders get FLOW.settleMs to end.
    const accepted = placed.filter((p) => p.acceptedAt !== undefined);
    const state = new Map<string, Record<string, any> | null>(); // client_order_id → order (null: 404)
    const poll = async (p: Placed) => {
      if (!p.orderId) return;
      const r = await client.get(`/api/v1/orders/${p.orderId}`);
      if (r.status === 200) state.set(p.spec.client_order_id, r.body.order);
      else if (r.status === 404) state.set(p.spec.client_order_id, null);
    };
    const settleDeadline = Math.max(flowEnd, faultEnd) + FLOW.settleMs;
    for (;;) {
      const open = accepted.filter((p) => {
        const o = state.get(p.spec.client_order_id);
        return o === undefined || (o !== null && !TERMINAL.has(o.status));
      });
      for (let k = 0; k < open.length && Date.now() < settleDeadline + 5_000; k += 16) await Promise.all(open.slice(k, k + 16).map(poll));
      const stillOpen = accepted.filter((p) => {
        const o = state.get(p.spec.client_order_id);
        return o === undefined || (o !== null && !TERMINAL.has(o.status));
      });
      if (stillOpen.length === 0 || Date.now() > settleDeadline) break;
      await Bun.sleep(1_000);
    }

    step("counts from the API");
    // 5. Counts.
    // Lost: acknowledged, then unknown by its id and by its client_order_id.
    const byClientId = new Map<string, Record<string, any>>();
    let listed = true;
    let cursor: string | null = null;
    do {
      const r = await client.get(`/api/v1/orders?broker=paper&limit=500${cursor ? `&cursor=${cursor}` : ""}`);
      if (r.status !== 200) {
        notes.push(`GET /orders answered ${r.status}: orders not found by id were not checked by client_order_id (counted stuck, not lost)`);
        listed = false;
        break;
      }
      for (const o of r.body.orders ?? []) if (o.client_order_id) byClientId.set(o.client_order_id, o);
      cursor = r.body.next_cursor ?? null;
    } while (cursor);
    let lost = 0;
    const lostIds: string[] = [];
    let renamed = 0;
    /** Accepted orders the API never answered for (neither the order nor a 404): not known to be lost, nor to be done. */
    const unread: Placed[] = [];
    for (const p of accepted) {
      const o = state.get(p.spec.client_order_id);
      if (o) continue;
      const again = byClientId.get(p.spec.client_order_id);
      if (again) {
        state.set(p.spec.client_order_id, again);
        if (again.order_id !== p.orderId) renamed++;
        continue;
      }
      if (o === undefined || !listed) {
        unread.push(p);
        continue;
      }
      lost++;
      if (lostIds.length < 5) lostIds.push(`${p.spec.client_order_id} (${p.orderId})`);
    }
    if (renamed) notes.push(`${renamed} acknowledged order id(s) unknown, but their client_order_id names another order`);
    if (unread.length) notes.push(`${unread.length} accepted order(s) could not be read back (no 200 or 404 from GET /orders/:id): counted stuck`);

    const finals = accepted.map((p) => state.get(p.spec.client_order_id)).filter((o): o is Record<string, any> => !!o);
    const terminal = finals.filter((o) => TERMINAL.has(o.status)).length;
    const stuckOrders = [
      ...finals.filter((o) => !TERMINAL.has(o.status)),
      ...unread.map((p) => ({ order_id: p.orderId, status: "(unreadable)", client_order_id: p.spec.client_order_id })),
    ];
    const filled = finals.filter((o) => o.status === "FILLED").length;
    const failed = finals.filter((o) => o.status === "FAILED" || o.status === "REJECTED");
    const failedReasons = [...new Set(failed.map((o) => `${o.status} ${o.reason_code ?? ""}`.trim()))];

    // Recovery: the first order sent after the fault ended that was accepted and then filled.
    const afterFault = accepted.filter((p) => p.sentAt >= faultEnd);
    let recoveryMs: number | null = null;
    for (const p of afterFault) {
      const o = state.get(p.spec.client_order_id);
      if (o?.status !== "FILLED") continue;
      const at = Math.max(p.acceptedAt!, Date.parse(o.updated_at)) - faultEnd;
      if (recoveryMs === null || at < recoveryMs) recoveryMs = at;
    }

    // The ledger: PostgreSQL's ledger_fills (distributed), or the API's trades (embedded).
    type Fill = { event_id: string; fill_id: string; order_id: string; strategy_id: string; instrument_token: number; side: "BUY" | "SELL"; quantity: number; price: number; fees: number };
    let ledger: Fill[] = [];
    if (dbUrl) {
      const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select event_id::text, fill_id, order_id, strategy_id, instrument_token::text, side, quantity, price::text, fees::text
                               from ledger_fills where broker = 'paper' order by seq`;
        ledger = rows.map((r) => ({ ...(r as any), instrument_token: Number(r.instrument_token), price: Number(r.price), fees: Number(r.fees) }));
      } finally {
        await sql.end({ timeout: 5 });
      }
    } else {
      const r = await client.get("/api/v1/trades?broker=paper&limit=500");
      const trades = (r.body.trades ?? []) as Array<Record<string, any>>;
      if (trades.length >= 500) notes.push("500 trades or more: the embedded ledger check saw only the newest 500");
      ledger = trades
        .map((t) => ({ ...(t as any), price: toPaise(t.price), fees: toPaise(t.fees) }))
        .sort((a, b) => (a.ts === b.ts ? (a.event_id < b.event_id ? -1 : 1) : a.ts < b.ts ? -1 : 1));
    }

    // Duplicated fills: more filled than ordered, a fill twice, or a fill of no order we placed.
    const ours = new Map(accepted.filter((p) => p.orderId).map((p) => [state.get(p.spec.client_order_id)?.order_id ?? p.orderId!, p.spec]));
    const filledQty = new Map<string, number>();
    const fillIds = new Set<string>();
    let duplicated = 0;
    let strategyFills = 0;
    const dupDetail: string[] = [];
    for (const f of ledger) {
      const key = `${f.order_id}/${f.fill_id}`;
      if (fillIds.has(key)) (duplicated++, dupDetail.push(`fill ${key} twice`));
      fillIds.add(key);
      filledQty.set(f.order_id, (filledQty.get(f.order_id) ?? 0) + f.quantity);
      // A seeded strategy's order (one re-enabled by a restart that lost the settings) is not a
      // duplicate: it is noted, and its fills still count in the portfolio check.
      if (!ours.has(f.order_id) && f.strategy_id !== "manual") strategyFills++;
      else if (!ours.has(f.order_id)) (duplicated++, dupDetail.push(`fill ${f.fill_id} of an order we did not place (${f.order_id})`));
    }
    if (strategyFills) notes.push(`${strategyFills} fill(s) of strategies' own orders (a strategy was enabled again)`);
    for (const [orderId, qty] of filledQty) {
      const spec = ours.get(orderId);
      if (spec && qty > spec.quantity) (duplicated++, dupDetail.push(`${orderId}: ${qty} filled of ${spec.quantity}`));
    }

    // Mismatches: the API's orders against the ledger, the log's fills against the ledger, and
    // the API's portfolio against the fold of the ledger's fills.
    const mismatchDetail: string[] = [];
    for (const o of finals) {
      const inLedger = filledQty.get(o.order_id) ?? 0;
      if (o.filled_quantity !== inLedger) mismatchDetail.push(`order ${o.order_id}: API filled_quantity ${o.filled_quantity}, ledger ${inLedger}`);
    }
    let dlq = 0;
    let dlqExpected = 0;
    let dlqUnexpected = 0;
    const dlqDetail: string[] = [];
    if (services) {
      const brokers = services.infra.env.KAFKA_BROKERS;
      const filledTopic = topicName("ordersFilled", "paper");
      step("the log's fills");
      const fromLog = await readTopics(brokers, [filledTopic]);
      const logFills = new Set<string>();
      for (const m of fromLog) {
        try {
          const e = decodeEnvelope(m.value);
          if (e.type === "order.filled") logFills.add(`${(e.data as any).order_id}/${(e.data as any).fill_id}`);
        } catch {}
      }
      for (const f of logFills) if (!fillIds.has(f)) mismatchDetail.push(`fill ${f} on ${filledTopic} but not in the ledger`);
      for (const f of fillIds) if (!logFills.has(f)) mismatchDetail.push(`fill ${f} in the ledger but not on ${filledTopic}`);

      const dlqs = allTopics(["paper"]).map((t) => dlqName(t.name));
      step("the DLQs");
      const dead = await readTopics(brokers, dlqs);
      dlq = dead.length;
      const found = new Set<string>();
      for (const m of dead) {
        const text = new TextDecoder().decode(m.value);
        const marker = expectedMarkers.find((k) => text.includes(k));
        if (marker) found.add(marker);
        else {
          dlqUnexpected++;
          if (dlqDetail.length < 5) dlqDetail.push(`${m.topic}: ${m.headers["x-dlq-error"] ?? ""} ${text.slice(0, 120)}`);
        }
      }
      dlqExpected = expectedMarkers.length;
      const missing = expectedMarkers.filter((k) => !found.has(k));
      if (missing.length) dlqDetail.push(`not dead-lettered: ${missing.join(", ")}`);
      dlq = found.size;
    }

    const fold = ledger.reduce<PortfolioState>(
      (s, f) => evolve(s, { strategy_id: f.strategy_id, instrument_token: f.instrument_token, side: f.side, fill_quantity: f.quantity, fill_price: f.price, fees: f.fees }),
      initialPortfolio({ broker: "paper", starting_cash: STARTING_CASH_PAISE }),
    );
    const compare = async () => {
      const r = await client.get("/api/v1/portfolios/paper");
      if (r.status !== 200) return [`GET /portfolios/paper answered ${r.status}`];
      const p = r.body.portfolio as Record<string, any>;
      const out: string[] = [];
      if (toPaise(p.cash) !== fold.cash) out.push(`cash: API ${p.cash}, ledger ${toRupees(fold.cash)}`);
      const api = new Map<string, Record<string, any>>((p.positions ?? []).map((x: any) => [positionKey(x.strategy_id, x.instrument_token), x]));
      for (const [key, pos] of Object.entries(fold.positions)) {
        const a = api.get(key);
        if ((a?.quantity ?? 0) !== pos.quantity) out.push(`${key}: API quantity ${a?.quantity ?? "(none)"}, ledger ${pos.quantity}`);
        else if (a && toPaise(a.realised_pnl) !== pos.realised_pnl) out.push(`${key}: API realised ${a.realised_pnl}, ledger ${toRupees(pos.realised_pnl)}`);
      }
      for (const [key, a] of api) if (!fold.positions[key] && a.quantity !== 0) out.push(`${key}: API quantity ${a.quantity}, not in the ledger`);
      return out;
    };
    // The read model follows the ledger by a moment: a mismatch counts if it lasts 5 s.
    step("the portfolio against the ledger");
    let portfolioDiff = await compare();
    for (let k = 0; k < 10 && portfolioDiff.length > 0; k++) {
      await Bun.sleep(500);
      portfolioDiff = await compare();
    }
    mismatchDetail.push(...portfolioDiff);
    if (staleRead) mismatchDetail.push(staleRead);

    const c = client.counts;
    const counts: Counts = {
      orders: n + (resting ? 1 : 0),
      accepted: accepted.length,
      refused: placed.length - accepted.length,
      terminal,
      filled,
      failed: failed.length,
      stuck: stuckOrders.length,
      lost,
      duplicated,
      mismatches: mismatchDetail.length,
      dlq,
      dlqExpected,
      dlqUnexpected,
      other5xx: c.other5xx,
      s503: c.s503,
      slowOrders: c.slowOrders,
      recoveryMs,
    };
    const failures: string[] = [];
    if (faultError) failures.push(`fault not injected: ${faultError}`);
    if (lost) failures.push(`${lost} lost: ${lostIds.join(", ")}`);
    if (counts.stuck) failures.push(`${counts.stuck} stuck: ${stuckOrders.slice(0, 5).map((o) => `${o.order_id} ${o.status}${o.order_id === resting?.orderId ? " (the resting order)" : ""}`).join(", ")}`);
    if (duplicated) failures.push(`${duplicated} duplicated: ${dupDetail.slice(0, 5).join("; ")}`);
    if (counts.mismatches) failures.push(`${counts.mismatches} mismatches: ${mismatchDetail.slice(0, 5).join("; ")}`);
    if (c.slowOrders) failures.push(`${c.slowOrders} POST /orders answered after more than 2 s, or not at all`);
    if (c.other5xx) failures.push(`${c.other5xx} 5xx other than 503: ${c.other5xxSamples.join("; ")}`);
    if (dlqUnexpected || dlq < dlqExpected) failures.push(`DLQ: ${dlq} of ${dlqExpected} expected, ${dlqUnexpected} unexpected: ${dlqDetail.join("; ")}`);
    if (recoveryMs === null) failures.push(`no order sent after the fault was accepted and filled`);
    else if (recoveryMs > FLOW.recoveryLimitMs) failures.push(`recovery took ${(recoveryMs / 1000).toFixed(1)} s (limit ${FLOW.recoveryLimitMs / 1000} s)`);
    if (refusedNote(placed)) notes.push(refusedNote(placed)!);
    if (failedReasons.length) notes.push(`ended FAILED/REJECTED: ${failedReasons.join(", ")}`);

    return {
      id: sc.id,
      title: sc.title,
      counts,
      pass: failures.length === 0,
      failures,
      notes,
      durationMs: Date.now() - t0,
      detail: {
        faultStartMs: faultStart - flowStart,
        faultEndMs: faultEnd - flowStart,
        flowEndMs: flowEnd - flowStart,
        started: startedCount,
        noAnswer: c.noAnswer,
        duplicates: dupDetail.slice(0, 20),
        mismatches: mismatchDetail.slice(0, 20),
        dlq: dlqDetail,
        stuck: stuckOrders.slice(0, 20).map((o) => ({ order_id: o.order_id, status: o.status, client_order_id: o.client_order_id })),
        lost: lostIds,
      },
    };
  } catch (err) {
    return {
      id: sc.id,
      title: sc.title,
      counts: emptyCounts(),
      pass: false,
      failures: [`the harness failed during "${current}": ${(err as Error).stack ?? err}`],
      notes,
      durationMs: Date.now() - t0,
      detail: { stderr: gateways.map((g) => g.proc?.stderr?.().slice(-2000)) },
    };
  } finally {
    step("clean up");
    for (const g of gateways) await stopGateway(g).catch(() => {});
    // For reading a scenario's timeline afterwards: each gateway's log lines (the last process of each).
    const logDir = process.env.FAULTS_LOG_DIR;
    if (logDir) gateways.forEach((g, i) => g.proc && writeFileSync(join(logDir, `${sc.id}-${i}.jsonl`), g.proc.lines.map((l) => JSON.stringify(l)).join("\n")));
    for (const c of cleanups.reverse()) await within(c(), 20_000, "a clean-up").catch((err: Error) => notes.push(err.message));
  }
}

/** Rejects with `what` timed out when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms))),
  ]);
}

function refusedNote(placed: Placed[]): string | undefined {
  const refused = placed.filter((p) => p.acceptedAt === undefined);
  if (refused.length === 0) return undefined;
  const why = [...new Set(refused.map((p) => p.lastError?.slice(0, 80)))].slice(0, 3).join(" | ");
  return `${refused.length} order(s) never accepted within ${refused[0]!.attempts} attempts (last: ${why})`;
}

export function emptyCounts(): Counts {
  return {
    orders: 0, accepted: 0, refused: 0, terminal: 0, filled: 0, failed: 0, stuck: 0, lost: 0, duplicated: 0, mismatches: 0,
    dlq: 0, dlqExpected: 0, dlqUnexpected: 0, other5xx: 0, s503: 0, slowOrders: 0, recoveryMs: null,
  };
}
