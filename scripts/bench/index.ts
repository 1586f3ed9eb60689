/**
 * `bun run bench [--long] [--only ingest,pipeline,backtest,api,ws,memory,reference] [--modes embedded,kafka]`:
 * measures, prints one table (metric, value, target, met?) and writes bench-results.json at the
 * repository root. `--modes` narrows the ingest and pipeline sections to one mode (to compare two
 * commits on one mode, run after run).
 *
 * 1. Brings the local services up (`bun run infra:up`) unless they already answer, and takes them
 *    down at the end if it started them (as test:all does).
 * 2. Runs each section (scripts/bench/<section>.ts, `run(opts)` → flat dotted metrics). A failing
 *    section is recorded (its metrics null, its error in the file) and the next one runs.
 * 3. Writes bench-results.json: the metrics nested by their dotted keys, plus `machine`,
 *    `started_at`, `git`, `duration_s`, `long`, `thread_wake_ms` (scripts/bench/wake.ts), `targets`
 *    and `errors`.
 *
 * Settings: KAFKA_BROKERS, REDIS_URL, DATABASE_URL (default: the local services of infra:up).
 * A short run takes about three minutes; `--long` runs the sustained-load variants (5 minutes of
 * load for the memory section).
 */
import { cpus, totalmem } from "node:os";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LOCAL } from "../local-infra.ts";
import type { BenchModule, BenchOptions, BenchSection } from "./types.ts";
import { stopChildren } from "./children.ts";
import { RATE_KEYS } from "./rates.ts";
import { render, rows, TARGETS } from "./table.ts";
import { measureLedger, measureLogHop, measureWake, type Wake } from "./wake.ts";
import type { Percentiles } from "./loadgen.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/** How long a section waits for other work on the machine to finish before it runs anyway. */
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S ?? 60);
const SECTIONS = ["ingest", "pipeline", "backtest", "api", "ws", "memory", "reference"] as const;
const MODES = ["embedded", "kafka"] as const;
type SectionName = (typeof SECTIONS)[number];

/** Keys bench-results.json always has (null when not measured). */
const REQUIRED = [
  "embedded.pipeline_ticks_per_s",
  "embedded.tick_to_fill_ms.p50",
  "embedded.tick_to_fill_ms.p99",
  "kafka.ingest_ticks_per_s",
  "kafka.pipeline_ticks_per_s",
  "kafka.tick_to_fill_ms.p50",
  "kafka.tick_to_fill_ms.p99",
  "reference.kafka_producer_perf_records_per_s",
  "reference.kafkajs_produce_per_s",
  "api.get_portfolio_rps",
  "api.post_order_rps",
  "api.post_order_ms.at_100.p50",
  "api.post_order_ms.at_100.p99",
  "api.distributed.post_order_ms.at_100.p50",
  "api.distributed.post_order_ms.at_100.p99",
  "reference.bare_order_route_rps",
  "reference.distributed.bare_order_route_rps",
  "ws.fanout_p99_ms",
  "memory.rss_growth_mb",
  ...RATE_KEYS,
  "memory.idle_mb.embedded",
  "memory.idle_mb.distributed",
];

/** `--name a,b` or `--name=a,b`: the listed names, each one of `allowed`; exits with a usage error otherwise. */
function listArg<T extends string>(argv: string[], i: number, allowed: readonly T[]): { names: T[]; next: number } {
  const a = argv[i]!;
  const flag = a.split("=")[0]!;
  const list = a.includes("=") ? a.slice(flag.length + 1) : (argv[++i] ?? "");
  const names = list.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    console.error(`bench: ${flag} takes a comma list of ${allowed.join(", ")}; got ${JSON.stringify(list)}`);
    process.exit(2);
  }
  return { names: allowed.filter((s) => names.includes(s)), next: i };
}

function parseArgs(argv: string[]): { long: boolean; only: SectionName[]; modes: Array<(typeof MODES)[number]> } {
  let long = false;
  let only: SectionName[] = [...SECTIONS];
  let modes: Array<(typeof MODES)[number]> = [...MODES];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--long") long = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const r = listArg(argv, i, SECTIONS);
      only = r.names;
      i = r.next;
    } else if (a === "--modes" || a.startsWith("--modes=")) {
      const r = listArg(argv, i, MODES);
      modes = r.names;
      i = r.next;
    } else if (a === "--help" || a === "-h") {
      console.log(`bun run bench [--long] [--only ${SECTIONS.join(",")}] [--modes ${MODES.join(",")}]`);
      process.exit(0);
    } else {
      console.error(`bench: unknown argument ${a} (try --help)`);
      process.exit(2);
    }
  }
  return { long, only, modes };
}

/** {"a.b.c": 1} → {a: {b: {c: 1}}}. */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node = out;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      if (typeof next !== "object" || next === null) node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = value;
  }
  return out;
}

async function sh(cmd: string[], quiet = false): Promise<number> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: quiet ? "ignore" : "inherit", stderr: quiet ? "ignore" : "inherit", stdin: "ignore" });
  return proc.exited;
}

async function gitCommit(): Promise<string | null> {
  try {
    const head = (await new Response(Bun.spawn(["git", "rev-parse", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" }).stdout).text()).trim();
    const dirty = (await new Response(Bun.spawn(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" }).stdout).text()).trim();
    return head ? `${head}${dirty ? "-dirty" : ""}` : null;
  } catch {
    return null;
  }
}

function machine() {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  return { cpu: model, cores: cpus().length, ram_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10, os: `${process.platform} ${process.arch}`, bun: Bun.version };
}

/**
 * The machine's CPU time so far (/proc/stat's first line: user, nice, system, idle, iowait, irq,
 * softirq, steal; guest time is inside user), or undefined off Linux.
 */
function cpuTimes(): { idle: number; steal: number; total: number } | undefined {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { idle: (f[3] ?? 0) + (f[4] ?? 0), steal: f[7] ?? 0, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

type CpuTimes = ReturnType<typeof cpuTimes>;

/** The share of the CPU time between two readings that was `kind`, or undefined off Linux. */
const shareOf = (kind: "idle" | "steal", a: CpuTimes, b: CpuTimes): number | undefined =>
  a && b && b.total > a.total ? (b[kind] - a[kind]) / (b.total - a.total) : undefined;

/** Share of CPU time idle over `ms`, or undefined off Linux. */
async function cpuIdle(ms = 1_000): Promise<number | undefined> {
  const a = cpuTimes();
  await Bun.sleep(ms);
  return shareOf("idle", a, cpuTimes());
}

/**
 * Steal between two readings: the share of this virtual machine's CPU time the hypervisor gave
 * to others. It lowers every number of a section as another process on the same cores would.
 */
const stealShare = (a: CpuTimes, b: CpuTimes): number | undefined => {
  const share = shareOf("steal", a, b);
  return share === undefined ? undefined : Math.round(share * 100) / 100;
};
/** Above this steal share a section's numbers are flagged as the machine's, not ours. */
const STEAL_WARN = 0.1;

/**
 * The wall clock less the monotonic clock's reading of it. It moves only when the wall clock is
 * stepped: the machine paused and resumed (a VM snapshot), or its time set. Latencies compare a
 * wall-clock start in one thread with `timeOrigin + now()` in another, and a thread started before
 * a step is off by the step after it (seen: every tick → fill sample 0 ms, the WebSocket's 24 s).
 */
const clockOffsetMs = () => Date.now() - (performance.timeOrigin + performance.now());
/** A step larger than this voids a section's latencies. */
const CLOCK_STEP_MS = 50;

const { long, only, modes } = parseArgs(process.argv.slice(2));
const startedAt = new Date();
const t0 = performance.now();
const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
const log = (line: string) => console.log(`${stamp()} ${line}`);
const outDir = join(ROOT, ".bench");
mkdirSync(outDir, { recursive: true });

const opts: BenchOptions = {
  long,
  kafkaBrokers: process.env.KAFKA_BROKERS ?? LOCAL.kafkaBrokers,
  redisUrl: process.env.REDIS_URL ?? LOCAL.redisUrl,
  databaseUrl: process.env.DATABASE_URL ?? LOCAL.databaseUrl,
  outDir,
  modes,
  log,
  measured: {},
};

log(`bench ${long ? "--long " : ""}(${only.join(", ")}; ${modes.join(", ")}) on ${machine().cpu}, ${machine().cores} cores`);
// The floor under every in-process hop, on this machine now (scripts/bench/wake.ts).
let wake: Wake | undefined;
try {
  wake = await measureWake();
  wake.log_hop = await measureLogHop();
  log(`thread wake-up, p50/p99 ms: futex ${wake.futex.p50}/${wake.futex.p99}, postMessage ${wake.post_message.p50}/${wake.post_message.p99}; one hop through the in-process log ${wake.log_hop.p50}/${wake.log_hop.p99}`);
} catch (err) {
  log(`thread wake-up not measured: ${(err as Error).message}`);
}
// Apart: it starts a database, and its failure should not take the wake-ups with it.
let ledger: Percentiles | undefined;
try {
  ledger = await measureLedger();
  log(`the embedded ledger statement alone, p50/p99/p99.9 ms: ${ledger.p50}/${ledger.p99}/${ledger.p999}`);
} catch (err) {
  log(`the embedded ledger statement not measured: ${(err as Error).message}`);
}
const alreadyUp = (await sh([process.execPath, "scripts/infra.ts", "status"], true)) === 0;
// Stopped from outside: what the run started stops with it (scripts/bench/children.ts).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the processes this run started`);
    void (async () => {
      await stopChildren();
      if (!alreadyUp) await sh([process.execPath, "scripts/infra.ts", "down"]);
      process.exit(130);
    })();
  });
}
let infraError: string | undefined;
if (!alreadyUp) {
  log("starting the local services (bun run infra:up)");
  if ((await sh([process.execPath, "scripts/infra.ts", "up"])) !== 0) infraError = "infra:up failed; sections that need Kafka, PostgreSQL or Redis will fail";
}

const metrics = opts.measured as Record<string, number | null>;
const errors: Record<string, string> = {};
if (infraError) errors.infra = infraError;
const durations: Record<string, number> = {};
const idleBefore: Record<string, number> = {};
const stealDuring: Record<string, number> = {};
try {
  for (const name of only) {
    const s0 = performance.now();
    // Another process busy on the same cores makes every number here lower: wait a while for
    // it to finish, and say so if it does not.
    let idle = await cpuIdle();
    for (let waited = 0; idle !== undefined && idle < 0.7 && waited < QUIET_WAIT_S; waited += 5) {
      if (waited === 0) log(`waiting up to ${QUIET_WAIT_S} s for the CPUs to be idle (${Math.round(idle * 100)}% now)`);
      await Bun.sleep(4_000);
      idle = await cpuIdle();
    }
    if (idle !== undefined) idleBefore[name] = Math.round(idle * 100) / 100;
    log(`— ${name}${idle !== undefined && idle < 0.7 ? ` (warning: the CPUs were only ${Math.round(idle * 100)}% idle just before: something else is running, numbers will be low)` : ""}`);
    const offsetBefore = clockOffsetMs();
    const timesBefore = cpuTimes();
    let section: BenchSection = {};
    try {
      const mod = (await import(`./${name}.ts`)) as Partial<BenchModule>;
      if (typeof mod.run !== "function") throw new Error(`scripts/bench/${name}.ts exports no run(opts)`);
      section = await mod.run(opts);
      Object.assign(metrics, section);
    } catch (err) {
      const e = err as Error & { partial?: BenchSection };
      if (e.partial) Object.assign(metrics, (section = e.partial));
      errors[name] = e?.message ?? String(err);
      log(`${name} failed: ${errors[name]}`);
    }
    const step = Math.round(clockOffsetMs() - offsetBefore);
    if (Math.abs(step) > CLOCK_STEP_MS) {
      const dropped = Object.keys(section).filter((k) => /_ms(\.|$)/.test(k));
      for (const k of dropped) metrics[k] = null;
      const what = `the wall clock stepped by ${step} ms during this section (the machine was paused, or its time set)`;
      if (dropped.length > 0) {
        errors[name] = `${errors[name] ? `${errors[name]}; ` : ""}${what}: its ${dropped.length} latency metrics compared clocks across the step and are dropped; run it again`;
        log(`${name}: ${errors[name]}`);
      } else {
        log(`${name}: warning: ${what}; it has no latency metrics to drop`);
      }
    }
    durations[name] = Math.round((performance.now() - s0) / 100) / 10;
    const steal = stealShare(timesBefore, cpuTimes());
    if (steal !== undefined) stealDuring[name] = steal;
    const stolen = steal !== undefined && steal > STEAL_WARN ? `; warning: the hypervisor took ${Math.round(steal * 100)}% of the CPU time (steal), so its numbers are low` : "";
    log(`${name}: ${durations[name]} s${stolen}`);
  }
} finally {
  if (!alreadyUp && !infraError) {
    log("stopping the local services this run started (bun run infra:down)");
    await sh([process.execPath, "scripts/infra.ts", "down"]);
  }
}

// The ratio with a target (table.ts): against ProducerPerformance run right after our ingest
// (scripts/bench/ingest.ts), or else the reference section's.
const ingest = metrics["kafka.ingest_ticks_per_s"];
const reference = metrics["kafka.ingest_producer_perf_records_per_s"] ?? metrics["reference.kafka_producer_perf_records_per_s"];
if (typeof ingest === "number" && typeof reference === "number" && reference > 0) metrics["kafka.ingest_vs_producer_perf"] = Math.round((ingest / reference) * 100) / 100;
for (const k of REQUIRED) if (!(k in metrics)) metrics[k] = null;

const durationS = Math.round((performance.now() - t0) / 100) / 10;
const result = {
  ...nest(metrics),
  machine: machine(),
  started_at: startedAt.toISOString(),
  git: await gitCommit(),
  long,
  sections: only,
  modes,
  duration_s: durationS,
  section_duration_s: durations,
  cpu_idle_before_section: idleBefore,
  cpu_steal_during_section: stealDuring,
  thread_wake_ms: wake || ledger ? { ...wake, ledger } : null,
  targets: Object.fromEntries(TARGETS.map((t) => [t.key, `${t.op} ${t.value}${t.reference ? ` × ${t.reference}` : ""}`])),
  errors,
};
await Bun.write(join(ROOT, "bench-results.json"), `${JSON.stringify(result, null, 2)}\n`);

console.log("");
console.log(render(rows(metrics)));
console.log("");
if (Object.keys(errors).length > 0) for (const [k, v] of Object.entries(errors)) console.log(`error in ${k}: ${v}`);
console.log(`bench-results.json written (${durationS} s; every metric is in the file)`);
process.exit(0);
