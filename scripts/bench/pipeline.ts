/**
 * 2. Pipeline: the real gateway (`bun gateway/main.ts`, FEED=none) as a separate process, embedded
 * and then on Kafka + Redis + PostgreSQL, trading one momentum strategy (1-tick lookback, may go
 * short) over every instrument: each instrument's price flips one tick every `moveEvery` of its
 * ticks, so the strategy reverses its position there and orders are filled at a steady rate.
 * Risk limits are raised first (the default allows 10 orders a second).
 *
 * - Tick → fill latency at an offered 5,000, then 1,000, then 100 ticks/s (paced; scripts/bench/
 *   rates.ts), beside the floor of four hops of the mode measured just before the gateway starts:
 *   the portfolio stage records now − the tick's creation time for each fill it applies
 *   (src/stage/latency.ts); the quantiles are those of its window (the last 10 s), read at the
 *   end of each phase, after a warm-up.
 * - Sustained ticks/s: ticks offered as fast as the pipeline takes them (at most `MAX_LAG` ahead of
 *   the slowest stage); the rate is what the portfolio, the last stage, handled per second in the
 *   steady part, from its stats (handled, timestamped, posted every second). Risk, execution
 *   (where no order rests) and the portfolio conflate ticks: one superseded by a later tick of the
 *   same instrument in the same batch counts as handled without being decoded; the share each
 *   stage conflated is reported beside the rate.
 *
 * Where ticks enter: embedded, through POST /api/v1/ticks (1,000 a request; the in-process log
 * lives in the gateway); on Kafka, published straight into market.ticks from this process with
 * the gateway's own producer (KafkaLog) and `publishTicks`. Embedded runs on the instrument
 * master the gateway ships (the sample's instruments; an in-memory PGlite cannot be preloaded);
 * on Kafka the fresh schema is loaded with 1,000 synthetic instruments first.
 */
import { KafkaLog } from "../../src/log/kafka.ts";
import type { Producer } from "../../src/log/port.ts";
import { publishTicks } from "../../src/market/feed.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import { toPaise } from "../../src/money.ts";
import { kafkaFloors } from "./kafka-floors.ts";
import { embeddedFloors, floor4, moveEveryAt, RATES, rateKeys, TICKS_PER_INSTRUMENT_S } from "./rates.ts";
import type { BenchOptions, BenchSection } from "./types.ts";
import {
  apiClient,
  BENCH_KEY,
  eachMode,
  cleanRedis,
  freshSchema,
  latencyOf,
  loadInstruments,
  offerPaced,
  offerSaturated,
  ok,
  round,
  rssMb,
  sleep,
  spawnGateway,
  stageStats,
  syntheticInstruments,
  ticksBody,
  ticksHandled,
  TickSource,
  until,
  type Api,
  type GatewayProc,
  type SendTicks,
  type Stages,
} from "./support.ts";

export type Mode = "embedded" | "kafka";

const pct = (x: number) => `${Math.round(x * 100)}%`;

export const OFFERED_TICKS_PER_S = 5_000;
export const STRATEGY_ID = "bench_flip";
/** Ticks per order in the latency phase at 5,000 ticks/s (see TickSource): 20 fills/s. */
export const LATENCY_MOVE_EVERY = moveEveryAt(OFFERED_TICKS_PER_S);
/** The warm-up of each rate after the first: the gateway is warm by then. */
const NEXT_RATE_WARMUP_MS = 3_000;
/** The latency phase's warm-up with --long: past the JIT's warm-up (docs/benchmark-notes.md, "What limits the misses"). */
export const LONG_LATENCY_WARMUP_MS = 90_000;
/** The four stages' consumer groups (src/stage/groups.ts): one member each from this run's gateway. */
const STAGE_GROUP = /^alpha-panda\.(strategy|risk|execution|portfolio)\./;
/** Ticks the offered load may run ahead of the slowest stage. */
const MAX_LAG = 150_000;

export interface PipelineRun {
  mode: Mode;
  gw: GatewayProc;
  api: Api;
  instruments: Instrument[];
  send: SendTicks;
  /**
   * On Kafka: the stage groups another process is a member of too (a gateway of another run on
   * the same Kafka takes part of the work, and its fills are not this run's), if any.
   */
  sharedGroups?: () => Promise<string[]>;
  /** Stops the gateway gracefully and releases what the run made (schema, Redis keys, producer). */
  close(): Promise<void>;
}

/** Starts a gateway in `mode`, with the benchmark strategy and raised risk limits. */
export async function startPipeline(mode: Mode, opts: BenchOptions, extraEnv: Record<string, string> = {}): Promise<PipelineRun> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => opts.log(`  cleanup: ${(err as Error).message}`));
  };
  try {
    let env: Record<string, string> = {};
    if (mode === "kafka") {
      const removed = await cleanRedis(opts.redisUrl);
      if (removed > 0) opts.log(`  removed ${removed} gateway keys from Redis`);
      const db = await freshSchema(opts.databaseUrl);
      cleanups.push(db.drop);
      cleanups.push(() => cleanRedis(opts.redisUrl));
      await loadInstruments(db.url, syntheticInstruments(1_000));
      env = { KAFKA_BROKERS: opts.kafkaBrokers, REDIS_URL: opts.redisUrl, DATABASE_URL: db.url };
    }
    const gw = await spawnGateway({ ...env, ...extraEnv });
    cleanups.push(async () => {
      const code = await gw.stop();
      if (code !== 0) opts.log(`  gateway exited with ${code}`);
    });
    const api = apiClient(gw.url);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 60_000, 200);

    const listed = (await ok("GET /instruments", api.get("/api/v1/instruments"))).instruments as Array<Record<string, string | number>>;
    const all: Instrument[] = listed.map((i) => ({
      instrument_token: Number(i.instrument_token),
      exchange: String(i.exchange),
      tradingsymbol: String(i.tradingsymbol),
      name: String(i.name),
      tick_size: toPaise(String(i.tick_size)),
      lot_size: Number(i.lot_size),
      reference_price: toPaise(String(i.reference_price)),
    }));
    // Those that can be ticked and traded: a grid and a price to start from (not the indices).
    const instruments = all.filter((i) => i.tick_size > 0 && i.reference_price > 0 && i.reference_price % i.tick_size === 0 && i.lot_size > 0);

    // Only the benchmark's strategy trades: the seeded ones are switched off. On Kafka the control
    // topic outlives a run, so the strategy may exist from the last one: then it is redefined.
    const strategies = (await ok("GET /strategies", api.get("/api/v1/strategies"))).strategies as Array<{ id: string }>;
    for (const s of strategies) if (s.id !== STRATEGY_ID) await ok(`disable ${s.id}`, api.patch(`/api/v1/strategies/${s.id}`, { enabled: false }));
    const definition = {
      kind: "momentum",
      params: { lookback: 1, threshold_bps: 0.01, quantity: 1, allow_short: true },
      instruments: instruments.map((i) => i.instrument_token),
      brokers: ["paper"],
    };
    if (strategies.some((s) => s.id === STRATEGY_ID)) await ok(`PATCH /strategies/${STRATEGY_ID}`, api.patch(`/api/v1/strategies/${STRATEGY_ID}`, { ...definition, enabled: true }));
    else await ok("POST /strategies", api.post("/api/v1/strategies", { id: STRATEGY_ID, ...definition }));
    await ok(
      "PUT /risk/paper/limits",
      api.put("/api/v1/risk/paper/limits", {
        max_orders_per_second: 1_000_000,
        max_orders_per_strategy_per_day: 1_000_000_000,
        max_position_quantity: 1_000_000,
        max_order_quantity: 1_000_000,
        max_order_notional: "100000000000.00",
        max_daily_loss: "100000000000.00",
      }),
    );
    // Controls act from their 200 on: the next tick is traded by the new strategy under the new limits.

    let send: SendTicks;
    let sharedGroups: PipelineRun["sharedGroups"];
    if (mode === "embedded") {
      send = async (ticks) => {
        const res = await fetch(`${gw.url}/api/v1/ticks`, { method: "POST", headers: { authorization: `Bearer ${BENCH_KEY}`, "content-type": "application/json" }, body: ticksBody(ticks) });
        if (res.status !== 202) throw new Error(`POST /ticks: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
        await res.arrayBuffer();
      };
    } else {
      const log = new KafkaLog({ brokers: opts.kafkaBrokers.split(","), clientId: "alpha-panda-bench" });
      const producer: Producer = log.producer({ clientId: "bench-feed", maxInFlight: 16 });
      cleanups.push(() => log.close());
      send = (ticks) => publishTicks(producer, ticks, "feed.bench");
      sharedGroups = async () => ((await log.consumerGroups("alpha-panda.")) ?? []).filter((g) => STAGE_GROUP.test(g.id) && g.members > 1).map((g) => `${g.id} (${g.members} members)`);
    }
    return { mode, gw, api, instruments, send, sharedGroups, close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The first ticks of each instrument give the strategy its first position there (one order per
 * instrument, all at once): sent before anything is measured, and waited for.
 */
export async function prime(run: PipelineRun, source: TickSource): Promise<void> {
  for (let i = 0; i < 3; i++) {
    for (let left = run.instruments.length; left > 0; left -= 1_000) await run.send(source.next(Math.min(left, 1_000)));
  }
  await quiet(run.api, 60_000);
}

/** Waits until no stage handles anything for a second (a backlog from an earlier run is done). */
async function quiet(api: Api, timeoutMs: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await stageStats(api);
    const total = Object.values(s).reduce((n, x) => n + (x.handled ?? 0), 0);
    if (total !== last) {
      last = total;
      since = Date.now();
    } else if (Date.now() - since >= 1_500) return;
    await sleep(250);
  }
}

export interface LatencyResult {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  samples: number;
  fillsPerS: number;
  offered: number;
  behind: number;
  /** Per hop, creation → the stage taking it up (StreamProcessor.inbound), over the same window. */
  hops: Record<string, { p50: number; p99: number }>;
}

/** The chain a tick's fill goes through, in order. */
const HOPS = ["strategy", "risk", "execution", "portfolio"] as const;

/** Offers `rate` ticks/s for warm-up + 10 s; the fill latency quantiles over the last 10 s. */
export async function latencyPhase(run: PipelineRun, source: TickSource, rate: number, warmupMs: number, opts: BenchOptions): Promise<LatencyResult> {
  await quiet(run.api, 20_000);
  const before = latencyOf(await stageStats(run.api))?.count ?? 0;
  const measureMs = 10_000;
  const offered = await offerPaced(run.send, source, rate, warmupMs + measureMs, { maxBatch: 1_000, maxInFlight: 1, stepMs: 10 });
  // The stats (and the window's last second) are posted once a second.
  await sleep(1_200);
  const s = await stageStats(run.api);
  const l = latencyOf(s);
  if (!l || l.window_count === 0) throw new Error(`no fills were applied at ${rate} ticks/s (stages: ${JSON.stringify(s).slice(0, 600)})`);
  const elapsedS = (warmupMs + measureMs) / 1000;
  const r: LatencyResult = {
    p50: l.p50,
    p95: l.p95,
    p99: l.p99,
    max: l.max,
    samples: l.window_count,
    fillsPerS: round((l.count - before) / elapsedS, 1),
    offered: round(offered.sent / elapsedS),
    behind: offered.behind,
    hops: Object.fromEntries(HOPS.flatMap((h) => (s[h]?.inbound ? [[h, { p50: s[h].inbound.p50, p99: s[h].inbound.p99 }]] : []))),
  };
  opts.log(`  ${run.mode}: tick → fill at ${rate} ticks/s: p50 ${r.p50} ms, p95 ${r.p95} ms, p99 ${r.p99} ms, max ${r.max} ms (${r.samples} fills in the window, ${r.fillsPerS} fills/s${offered.behind > 0 ? `, sender ${offered.behind} ticks behind` : ""})`);
  // Each hop's wait (creation → the stage's batch); what is left of tick → fill is the stages'
  // own work, and at the end the portfolio's ledger write before the fill is applied.
  const hops = Object.entries(r.hops).map(([h, q]) => `${h} ${q.p50}/${q.p99}`);
  if (hops.length > 0) opts.log(`  ${run.mode}: per hop, creation → taken up, p50/p99 ms: ${hops.join(", ")}`);
  return r;
}

export interface ThroughputResult {
  ticksPerS: number;
  perStage: Record<string, number>;
  /** Of the events each stage handled in the steady part, the share it conflated (src/stage/conflation.ts). */
  conflated: Record<string, number>;
  offeredPerS: number;
  fillsPerS: number;
}

/** Saturates the pipeline for settle + measure ms; ticks/s the portfolio handled in the measured part. */
export async function throughputPhase(run: PipelineRun, source: TickSource, settleMs: number, measureMs: number, opts: BenchOptions): Promise<ThroughputResult> {
  await quiet(run.api, 20_000);
  const base = ticksHandled(await stageStats(run.api));
  const samples: Array<{ t: number; s: Stages }> = [];
  let latest = base;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const s = await stageStats(run.api);
        samples.push({ t: Date.now(), s });
        latest = ticksHandled(s);
        const bad = Object.entries(s).find(([, x]) => x.state !== undefined && x.state !== "running");
        if (bad) opts.log(`  ${run.mode}: stage ${bad[0]} is ${bad[1].state} (restarts ${bad[1].restarts})`);
      } catch {
        // the next poll will tell
      }
      await sleep(250);
    }
  })();
  const t0 = Date.now();
  const stopAt = t0 + settleMs + measureMs;
  const baseMin = base.min;
  const { sent } = await offerSaturated(run.send, source, {
    batch: 1_000,
    // One batch at a time, as a feed sends: concurrent HTTP requests could overtake each other,
    // and more batches in flight do not raise the rate (docs/benchmark-notes.md).
    maxInFlight: 1,
    maxLag: MAX_LAG,
    handled: () => latest.min - baseMin,
    stop: () => Date.now() >= stopAt,
  });
  const producedFor = Date.now() - t0;
  polling = false;
  await poller;

  // The steady part: from the first stats taken after the settle time to the last taken while
  // ticks were still being offered, by each stage's own timestamp.
  const steady = samples.filter((x) => x.t <= stopAt);
  const first = steady.find((x) => (x.s.portfolio?.at ?? 0) >= t0 + settleMs);
  const last = steady[steady.length - 1];
  if (!first || !last || first === last) throw new Error("too few stats samples in the steady part");
  const rate = (stage: "strategy" | "risk" | "execution" | "portfolio") => {
    const dt = ((last.s[stage]?.at ?? 0) - (first.s[stage]?.at ?? 0)) / 1000;
    return dt > 0 ? (ticksHandled(last.s)[stage] - ticksHandled(first.s)[stage]) / dt : 0;
  };
  const perStage = { strategy: round(rate("strategy")), risk: round(rate("risk")), execution: round(rate("execution")), portfolio: round(rate("portfolio")) };
  const share = (stage: string) => {
    const handled = (last.s[stage]?.handled ?? 0) - (first.s[stage]?.handled ?? 0);
    return handled > 0 ? round(((last.s[stage]?.conflated ?? 0) - (first.s[stage]?.conflated ?? 0)) / handled, 3) : 0;
  };
  const conflated = { risk: share("risk"), execution: share("execution"), portfolio: share("portfolio") };
  const fills = (latencyOf(last.s)?.count ?? 0) - (latencyOf(first.s)?.count ?? 0);
  const fillsDt = ((last.s.portfolio?.at ?? 0) - (first.s.portfolio?.at ?? 0)) / 1000;
  const r: ThroughputResult = { ticksPerS: perStage.portfolio, perStage, conflated, offeredPerS: round(sent / (producedFor / 1000)), fillsPerS: fillsDt > 0 ? round(fills / fillsDt, 1) : 0 };
  opts.log(`  ${run.mode}: sustained ${r.ticksPerS} ticks/s through the portfolio (strategy ${perStage.strategy}, risk ${perStage.risk}, execution ${perStage.execution}; offered ${r.offeredPerS}/s; ${r.fillsPerS} fills/s; conflated: risk ${pct(conflated.risk)}, execution ${pct(conflated.execution)}, portfolio ${pct(conflated.portfolio)})`);

  // Drain, so nothing is left behind on the shared topics (and the stop is quick).
  const target = baseMin + sent;
  await until(
    "the pipeline to drain",
    async () => ticksHandled(await stageStats(run.api)).min >= target,
    60_000,
    250,
  ).catch((err: unknown) => opts.log(`  ${run.mode}: ${(err as Error).message}`));
  return r;
}

/**
 * The embedded gateway's RSS in this run, for the memory section's short run (which then needs
 * no gateway of its own): when ready, after the latency phase (warm), after the throughput phase.
 */
export let embeddedRss: { idle: number; warm: number; after: number } | undefined;

async function one(mode: Mode, opts: BenchOptions): Promise<BenchSection> {
  const floors = mode === "kafka" ? await kafkaFloors(opts) : await embeddedFloors(opts);
  const hopFloor = { p50: floors[`${mode}.floor_ms.hop.p50`], p99: floors[`${mode}.floor_ms.hop.p99`] };
  const t0 = Date.now();
  const run = await startPipeline(mode, opts);
  try {
    opts.log(`  ${mode}: gateway ${run.gw.pid} ready in ${Math.round((Date.now() - t0) / 100) / 10} s; ${run.instruments.length} instruments; strategy ${STRATEGY_ID} on all of them`);
    const rssStart = rssMb(run.gw.pid);
    // One source for the whole run, so each instrument's prices go on where they were.
    const source = new TickSource(run.instruments, LATENCY_MOVE_EVERY);
    await prime(run, source);
    // The short run measures a gateway seconds old, while JSC still compiles its hot code (on
    // Kafka its compiler threads take 30–55% of a core for about 90 s); --long measures it warm.
    const warmupMs = opts.long ? LONG_LATENCY_WARMUP_MS : 2_000;
    const atRate: Record<number, LatencyResult> = {};
    const sharedAt = new Set<number>();
    for (const rate of RATES) {
      source.use(Math.ceil(rate / TICKS_PER_INSTRUMENT_S));
      source.setMoveEvery(moveEveryAt(rate));
      atRate[rate] = await latencyPhase(run, source, rate, rate === RATES[0] ? warmupMs : NEXT_RATE_WARMUP_MS, opts);
      const shared = (await run.sharedGroups?.().catch(() => [])) ?? [];
      if (shared.length > 0) {
        opts.log(`  ${mode}: at ${rate} ticks/s another process shared the stage groups (${shared.join(", ")}): its latencies are not this gateway's and are dropped`);
        sharedAt.add(rate);
      }
    }
    const latency = atRate[OFFERED_TICKS_PER_S]!;
    for (const rate of RATES) {
      const r = atRate[rate]!;
      const ratio = (v: number, f: number | null | undefined) => (typeof f === "number" && f > 0 ? `${round(v / f, 2)}×` : "—");
      opts.log(`  ${mode}: at ${rate} ticks/s p50 ${r.p50} ms (${ratio(r.p50, hopFloor.p50 && 4 * hopFloor.p50)} the four-hop floor), p99 ${r.p99} ms (${ratio(r.p99, hopFloor.p99 && 4 * hopFloor.p99)})`);
    }
    const rssWarm = rssMb(run.gw.pid);
    // One per 1,000 at saturation: the pipeline's work stays mostly per tick.
    source.use(run.instruments.length);
    source.setMoveEvery(1_000);
    const thr = await throughputPhase(run, source, 2_000, opts.long ? 30_000 : 10_000, opts);
    const rssEnd = rssMb(run.gw.pid);
    if (mode === "embedded" && rssStart !== undefined && rssWarm !== undefined && rssEnd !== undefined) embeddedRss = { idle: rssStart, warm: rssWarm, after: rssEnd };
    const out: BenchSection = {
      ...floors,
      ...floor4(mode, hopFloor),
      ...Object.assign({}, ...RATES.map((rate) => rateKeys(mode, rate, sharedAt.has(rate) ? undefined : atRate[rate]!))),
      [`${mode}.pipeline_ticks_per_s`]: thr.ticksPerS,
      [`${mode}.pipeline_offered_ticks_per_s`]: thr.offeredPerS,
      [`${mode}.pipeline_fills_per_s`]: thr.fillsPerS,
      [`${mode}.pipeline_stage_ticks_per_s.strategy`]: thr.perStage.strategy ?? null,
      [`${mode}.pipeline_stage_ticks_per_s.risk`]: thr.perStage.risk ?? null,
      [`${mode}.pipeline_stage_ticks_per_s.execution`]: thr.perStage.execution ?? null,
      [`${mode}.pipeline_conflated_share.risk`]: thr.conflated.risk ?? null,
      [`${mode}.pipeline_conflated_share.execution`]: thr.conflated.execution ?? null,
      [`${mode}.pipeline_conflated_share.portfolio`]: thr.conflated.portfolio ?? null,
      [`${mode}.tick_to_fill_ms.p50`]: latency.p50,
      [`${mode}.tick_to_fill_ms.p95`]: latency.p95,
      [`${mode}.tick_to_fill_ms.p99`]: latency.p99,
      [`${mode}.tick_to_fill_ms.max`]: latency.max,
      [`${mode}.tick_to_fill_ms.samples`]: latency.samples,
      [`${mode}.tick_to_fill_ms.offered_ticks_per_s`]: latency.offered,
      [`${mode}.tick_to_fill_ms.warmup_s`]: warmupMs / 1000,
      [`${mode}.tick_to_fill_ms.fills_per_s`]: latency.fillsPerS,
      ...Object.fromEntries(HOPS.flatMap((h) => [[`${mode}.hop_ms.${h}.p50`, latency.hops[h]?.p50 ?? null], [`${mode}.hop_ms.${h}.p99`, latency.hops[h]?.p99 ?? null]])),
      [`${mode}.pipeline_instruments`]: run.instruments.length,
      [`${mode}.gateway_rss_mb.start`]: rssStart ?? null,
      [`${mode}.gateway_rss_mb.end`]: rssEnd ?? null,
    };
    // The 5,000 ticks/s figures under their older names too.
    if (sharedAt.has(OFFERED_TICKS_PER_S)) for (const k of Object.keys(out)) if (/^[a-z]+\.(tick_to_fill_ms|hop_ms)\.(p|max|samples|strategy|risk|execution|portfolio)/.test(k)) out[k] = null;
    return out;
  } finally {
    await run.close();
  }
}

export function run(opts: BenchOptions): Promise<BenchSection> {
  return eachMode(opts, ["embedded", "kafka"] as const, (mode) => one(mode, opts));
}
