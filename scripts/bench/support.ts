/**
 * What the benchmark sections share: a gateway process as a user runs it (`bun gateway/main.ts`),
 * a small REST client, a fresh PostgreSQL schema, Redis clean-up, synthetic instruments, tick
 * generators, offered-load drivers and the RSS of a process.
 */
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { Tick } from "../../src/events/payloads.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import { upsertInstruments } from "../../src/market/master.ts";
import { toRupees } from "../../src/money.ts";
import type { LatencyStats } from "../../src/stage/latency.ts";
import type { StageStats } from "../../src/stage/protocol.ts";
import { sqlDb } from "../../src/store/db.ts";
import { openStore } from "../../src/store/index.ts";
import { apiClient as restClient, type Reply } from "../lib/api.ts";
import { logLines, until } from "../lib/proc.ts";
import { track } from "./children.ts";
import type { BenchOptions, BenchSection } from "./types.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const BENCH_KEY = "ap_bench_0123456789abcdef";

export const sleep = (ms: number) => Bun.sleep(ms);

// ------------------------------------------------------------------ the gateway process

export interface GatewayProc {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  url: string;
  lines: Array<Record<string, unknown>>;
  waitFor(match: (l: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** SIGINT and wait (SIGKILL after `timeoutMs`); the exit code. */
  stop(timeoutMs?: number): Promise<number>;
}

/** The environment without our settings, so a run states exactly what it sets. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(KAFKA_|REDIS_URL|DATABASE_URL|DATA_DIR|ACTIVE_BROKERS|PORT|FEED|HOST|LOG_LEVEL|BOOTSTRAP_API_KEY|STARTING_CASH)/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Starts `bun gateway/main.ts` with FEED=none, a known API key and `extra` settings; resolves
 * once it listens. Its JSON log lines are kept (the last 2,000).
 */
export async function spawnGateway(extra: Record<string, string>, args: string[] = []): Promise<GatewayProc> {
  // In memory (DATA_DIR=memory), as every run before DATA_DIR existed: runs stay comparable.
  // BENCH_DATA_DIR=disk: in a fresh temporary folder instead (PGlite on disk and the log's
  // journal, as a user runs it), removed when the gateway stops.
  const dataDir = process.env.BENCH_DATA_DIR === "disk" ? mkdtempSync(join(tmpdir(), "alpha-bench-")) : undefined;
  // The bench measures the pipeline, not the request rate limiter: every budget off.
  const limitsOff = { RATE_LIMIT_READS_PER_S: "0", RATE_LIMIT_WRITES_PER_S: "0", RATE_LIMIT_TICKS_PER_S: "0" };
  const env = cleanEnv({ PORT: "0", FEED: "none", DATA_DIR: dataDir ?? "memory", BOOTSTRAP_API_KEY: BENCH_KEY, STARTING_CASH: "1000000000.00", LOG_LEVEL: "info", ...limitsOff, ...extra });
  // BENCH_GATEWAY_ARGS: extra bun flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof".
  const extraArgs = (process.env.BENCH_GATEWAY_ARGS ?? "").split(" ").filter(Boolean);
  const proc = track(Bun.spawn([process.execPath, ...extraArgs, ...args, "gateway/main.ts"], { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }), "SIGINT");
  const { lines, stderr: stderrText, waitFor } = logLines(proc, { keep: 2_000 });
  const exited = proc.exited;
  if (dataDir) void exited.then(() => rmSync(dataDir, { recursive: true, force: true }));
  const listening = await Promise.race([
    waitFor((l) => l.msg === "gateway listening", 60_000),
    exited.then(() => Promise.reject(new Error(`gateway exited with ${proc.exitCode} before listening: ${stderrText() || JSON.stringify(lines.slice(-3))}`))),
  ]);
  return {
    proc,
    pid: proc.pid,
    url: String(listening.url),
    lines,
    waitFor,
    async stop(timeoutMs = 20_000) {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill("SIGINT");
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// ------------------------------------------------------------------ REST

/** The REST client, with the benchmark's key unless told otherwise. */
export const apiClient = (base: string, key = BENCH_KEY) => restClient(base, key);
export type Api = ReturnType<typeof apiClient>;

/** A call that must succeed (2xx), or an error naming what failed. */
export async function ok(what: string, reply: Promise<Reply>): Promise<any> {
  const r = await reply;
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

export { until };

/** Each stage's stats as /ready shows them. */
export type Stages = Record<string, StageStats & { state?: string; restarts?: number }>;

export async function stageStats(api: Api): Promise<Stages> {
  const r = await api.get("/ready");
  const out: Stages = {};
  for (const c of (r.body.checks ?? []) as Array<{ name: string; detail?: StageStats & { state?: string; restarts?: number } }>) {
    if (c.name.startsWith("stage.") && c.detail) out[c.name.slice(6)] = c.detail;
  }
  return out;
}

/** Ticks (market.ticks messages) each stage has handled, and the least of them. */
export function ticksHandled(s: Stages): { strategy: number; risk: number; execution: number; portfolio: number; min: number } {
  const t = (n: string) => s[n]?.handledByTopic?.["market.ticks"] ?? 0;
  const strategy = t("strategy");
  const risk = t("risk");
  const execution = t("execution");
  const portfolio = t("portfolio");
  return { strategy, risk, execution, portfolio, min: Math.min(strategy, risk, execution, portfolio) };
}

export const latencyOf = (s: Stages): LatencyStats | undefined => s.portfolio?.tickToFill;

// ------------------------------------------------------------------ services

/** A fresh, empty schema on the PostgreSQL at `databaseUrl`; `drop` removes it. */
export async function freshSchema(databaseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `bench_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create schema ${schema}`);
  await admin.end({ timeout: 5 });
  const url = new URL(databaseUrl);
  url.searchParams.set("search_path", schema);
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop schema if exists ${schema} cascade`);
      await sql.end({ timeout: 5 });
    },
  };
}

/** Applies the migrations and loads `list` into the instrument master of the database at `url`. */
export async function loadInstruments(url: string, list: readonly Instrument[]): Promise<void> {
  const store = await openStore({ databaseUrl: url });
  try {
    await upsertInstruments(sqlDb(store.sql), list);
  } finally {
    await store.close();
  }
}

/** Deletes the gateway's keys (read models, dedup) from Redis, as the distributed e2e tests do. */
export async function cleanRedis(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let n = 0;
  try {
    await redis.connect();
    for (const pattern of ["paper:*", "zerodha:*", "market:last", "dedup:*"]) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 10_000);
        cursor = next;
        if (keys.length > 0) n += await redis.unlink(...keys);
      } while (cursor !== "0");
    }
  } finally {
    redis.disconnect();
  }
  return n;
}

// ------------------------------------------------------------------ instruments and ticks

/** `n` NSE-like equities with tokens from 9,000,001, a 5-paise grid, lot 1, prices ₹100–₹5,000. */
export function syntheticInstruments(n: number): Instrument[] {
  return Array.from({ length: n }, (_, i) => ({
    instrument_token: 9_000_001 + i,
    exchange_token: 90_001 + i,
    exchange: "NSE",
    segment: "NSE",
    instrument_type: "EQ",
    tradingsymbol: `BENCH${String(i + 1).padStart(4, "0")}`,
    name: `BENCH INSTRUMENT ${i + 1}`,
    tick_size: 5,
    lot_size: 1,
    reference_price: 10_000 + ((i * 7_919) % 98_000) * 5, // on the grid
  }));
}

/**
 * Ticks over `instruments`, round robin (a batch of `instruments.length` ticks is one tick per
 * instrument, as the simulated feed sends them). Every tick moves its instrument's price one step
 * of its grid, in a zig-zag that turns every `moveEvery` of the instrument's ticks (staggered
 * across instruments). So every tick changes a price (marking costs what it costs with a real
 * feed), and a momentum strategy with a 1-tick lookback reverses its position at each turn: about
 * one order per `moveEvery` ticks overall, once every instrument has its first position (the
 * first ticks of each instrument give one order each: `prime` them before measuring).
 * `moveEvery` may change between batches without a burst of turns.
 */
export class TickSource {
  private readonly steps: Int32Array;
  private readonly dir: Int8Array;
  private readonly left: Int32Array;
  private cursor = 0;
  /** The first `active` instruments are ticked, in turn. */
  private active: number;
  produced = 0;

  constructor(
    private readonly instruments: ReadonlyArray<Pick<Instrument, "instrument_token" | "tick_size" | "reference_price">>,
    public moveEvery: number,
  ) {
    const n = instruments.length;
    this.steps = new Int32Array(n);
    this.dir = new Int8Array(n);
    this.left = new Int32Array(n);
    for (let i = 0; i < n; i++) this.dir[i] = i % 2 === 0 ? 1 : -1;
    this.active = n;
    this.spread();
  }

  /**
   * Ticks only the first `count` instruments from now on (all of them when `count` is larger):
   * at a low rate, each of 1,000 instruments would get a tick every few seconds and turn once a
   * minute, too seldom for the orders to come at a steady rate within a short phase.
   */
  use(count: number): void {
    this.active = Math.max(1, Math.min(count, this.instruments.length));
    if (this.cursor >= this.active) this.cursor = 0;
  }

  /**
   * Turns every `moveEvery` ticks from now on, the instruments' turns spread over that many, so
   * orders come at the new steady rate at once (not after the old, longer countdowns).
   */
  setMoveEvery(moveEvery: number): void {
    this.moveEvery = moveEvery;
    this.spread();
  }

  private spread(): void {
    for (let i = 0; i < this.left.length; i++) this.left[i] = 1 + ((i * 7_919) % this.moveEvery);
  }

  next(n: number): Tick[] {
    const ts = new Date().toISOString();
    const out: Tick[] = new Array(n);
    const len = this.active;
    for (let k = 0; k < n; k++) {
      const i = this.cursor;
      this.cursor = i + 1 === len ? 0 : i + 1;
      const inst = this.instruments[i]!;
      let price = inst.reference_price + (this.steps[i]! + this.dir[i]!) * inst.tick_size;
      // Never down to nothing: turn instead.
      if (price < inst.tick_size * 2) this.dir[i] = 1;
      this.steps[i] = this.steps[i]! + this.dir[i]!;
      price = inst.reference_price + this.steps[i]! * inst.tick_size;
      if ((this.left[i] = this.left[i]! - 1) <= 0) {
        this.dir[i] = -this.dir[i]! as 1 | -1;
        this.left[i] = this.moveEvery;
      }
      out[k] = { instrument_token: inst.instrument_token, last_price: price, exchange_ts: ts, feed: "bench" };
    }
    this.produced += n;
    return out;
  }
}

/** POST /api/v1/ticks's body for ticks: prices as decimal strings. */
export const ticksBody = (ticks: readonly Tick[]) =>
  JSON.stringify({ ticks: ticks.map((t) => ({ instrument_token: t.instrument_token, last_price: toRupees(t.last_price), exchange_ts: t.exchange_ts })) });

// ------------------------------------------------------------------ offered load

export type SendTicks = (ticks: Tick[]) => Promise<void>;

/**
 * Offers `ratePerS` ticks a second for `durationMs`, in batches of up to `maxBatch`, paced by the
 * clock (a late batch is caught up, never skipped), at most `maxInFlight` sends at once (default
 * one, as a feed sends: with more, two batches can overtake each other and an instrument's ticks
 * arrive out of order).
 * Resolves with what was sent and how far behind the schedule the sender ended.
 */
export async function offerPaced(send: SendTicks, source: TickSource, ratePerS: number, durationMs: number, o: { maxBatch?: number; maxInFlight?: number; stepMs?: number } = {}): Promise<{ sent: number; behind: number; errors: number }> {
  const maxBatch = o.maxBatch ?? 1_000;
  const maxInFlight = o.maxInFlight ?? 1;
  const stepMs = o.stepMs ?? 10;
  const t0 = performance.now();
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let lastError: unknown;
  const pending = new Set<Promise<void>>();
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= durationMs) break;
    let due = Math.floor((elapsed * ratePerS) / 1000) - sent;
    while (due > 0 && inFlight < maxInFlight) {
      const n = Math.min(due, maxBatch);
      due -= n;
      sent += n;
      inFlight++;
      const p: Promise<void> = send(source.next(n))
        .catch((err: unknown) => {
          errors++;
          lastError = err;
        })
        .finally(() => {
          inFlight--;
          pending.delete(p);
        });
      pending.add(p);
    }
    await sleep(stepMs);
  }
  await Promise.all(pending);
  if (errors > 0 && sent > 0 && errors * 10 > sent / maxBatch) throw new Error(`offered load: ${errors} sends failed; last: ${(lastError as Error)?.message}`);
  const due = Math.floor((durationMs * ratePerS) / 1000);
  return { sent, behind: Math.max(0, due - sent), errors };
}

/**
 * Sends batches as fast as the pipeline takes them: at most `maxInFlight` sends at once, and no
 * more than `maxLag` ticks ahead of what `handled()` says the slowest stage has handled (so the
 * backlog, and the drain at the end, stay bounded). Runs until `stop()` says so.
 */
export async function offerSaturated(send: SendTicks, source: TickSource, o: { batch: number; maxInFlight: number; maxLag: number; handled: () => number; stop: () => boolean }): Promise<{ sent: number }> {
  let sent = 0;
  let failure: unknown;
  const pending = new Set<Promise<void>>();
  while (!o.stop() && failure === undefined) {
    if (pending.size >= o.maxInFlight || sent - o.handled() > o.maxLag) {
      await Promise.race([...pending, sleep(5)]);
      continue;
    }
    sent += o.batch;
    const p: Promise<void> = send(source.next(o.batch))
      .catch((err: unknown) => {
        failure = err;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  return { sent };
}

// ------------------------------------------------------------------ processes

/** Resident set size of a process (its threads included), MB; undefined when it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

export const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/**
 * Runs a section's modes (embedded, then Kafka) one after the other into one result: a mode that
 * fails is logged and the next still runs; then the error names every failed mode and carries what
 * the others measured as `partial` (the runner records both).
 */
export async function eachMode<M extends string>(opts: BenchOptions, modes: readonly M[], measure: (mode: M) => Promise<BenchSection>, out: BenchSection = {}): Promise<BenchSection> {
  const errors: string[] = [];
  for (const mode of modes) {
    if (opts.modes && !opts.modes.includes(mode)) continue;
    try {
      Object.assign(out, await measure(mode));
    } catch (err) {
      errors.push(`${mode}: ${(err as Error).message}`);
      opts.log(`  ${mode} failed: ${(err as Error).message}`);
    }
  }
  if (errors.length > 0) throw Object.assign(new Error(errors.join("; ")), { partial: out });
  return out;
}
