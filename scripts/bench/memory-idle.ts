/**
 * Idle memory (scripts/bench/memory.ts): the gateway's resident set once it is ready and has
 * nothing to do, embedded in memory, embedded with a data directory and distributed (the real
 * Kafka, Redis and PostgreSQL, a fresh schema), each thread's heap from /ready, and the floor
 * under each (scripts/bench/memory-floor.ts) measured beside it.
 *
 * The collector frees start-up's garbage (PGlite's initdb above all) on its own timers, seconds
 * after the start, so the RSS is sampled every second for SETTLE_MS and the median of the last
 * five samples is the idle figure. Distributed, the stage groups first drain what the shared
 * topics hold for them (other runs' ticks): the count is reported, and the sampling starts once
 * the stages have handled nothing for QUIET_MS.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchOptions, BenchSection } from "./types.ts";
import { apiClient, freshSchema, loadInstruments, ROOT, rssMb, spawnGateway, stageStats, syntheticInstruments, until, type Stages } from "./support.ts";

const SETTLE_MS = 20_000;
const QUIET_MS = 5_000;
const DRAIN_MAX_MS = 60_000;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

/** The RSS of `pid` every second for `ms`; the last five samples. */
export async function settledRss(pid: number, ms = SETTLE_MS): Promise<number[]> {
  const samples: number[] = [];
  for (let t = 0; t < ms; t += 1_000) {
    await Bun.sleep(1_000);
    const v = rssMb(pid);
    if (v === undefined) throw new Error(`process ${pid} is gone`);
    samples.push(v);
  }
  return samples.slice(-5);
}

/** The floor's RSS for `mode`, in a process of its own. */
export async function floorRss(mode: "embedded" | "distributed"): Promise<number> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/memory-floor.ts"), mode], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`the ${mode} floor exited with ${code}: ${err.trim().slice(-300)}`);
  return Number(JSON.parse(out.trim().split("\n").at(-1)!).rss_mb);
}

type ThreadMemory = { heap_mb: number; external_mb: number };
const handledSum = (s: Stages) => Object.values(s).reduce((n, x) => n + x.handled + Object.values(x.companions ?? {}).reduce((m, c) => m + c.handled, 0), 0);

/** Each thread's heap (MB, external memory included) as /ready reports them, keyed `<prefix>.heap_mb.<thread>`. */
async function heaps(api: ReturnType<typeof apiClient>, prefix: string): Promise<BenchSection> {
  const body = (await api.get("/ready")).body as { memory?: { main: ThreadMemory; database?: ThreadMemory }; checks: Array<{ name: string; detail?: { memory?: ThreadMemory } }> };
  const out: BenchSection = {};
  if (body.memory) out[`${prefix}.heap_mb.main`] = body.memory.main.heap_mb;
  if (body.memory?.database) out[`${prefix}.heap_mb.database`] = body.memory.database.heap_mb;
  for (const c of body.checks) if (c.name.startsWith("stage.") && c.detail?.memory) out[`${prefix}.heap_mb.${c.name.slice(6)}`] = c.detail.memory.heap_mb;
  return out;
}

/** One gateway's idle RSS and heaps: `mode` embedded (in memory), disk (a data directory) or distributed. */
export async function idleGateway(mode: "embedded" | "disk" | "distributed", opts: BenchOptions): Promise<BenchSection> {
  const cleanups: Array<() => unknown> = [];
  try {
    let env: Record<string, string> = {};
    if (mode === "disk") {
      const dir = mkdtempSync(join(tmpdir(), "alpha-bench-memory-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      env = { DATA_DIR: dir };
    } else if (mode === "distributed") {
      const db = await freshSchema(opts.databaseUrl);
      cleanups.push(db.drop);
      await loadInstruments(db.url, syntheticInstruments(1_000));
      env = { KAFKA_BROKERS: opts.kafkaBrokers, REDIS_URL: opts.redisUrl, DATABASE_URL: db.url };
    }
    const gw = await spawnGateway(env);
    cleanups.push(() => gw.stop());
    const api = apiClient(gw.url);
    await until("the gateway to be ready", async () => (await api.get("/ready")).status === 200, 60_000, 200);
    const out: BenchSection = {};
    if (mode === "distributed") {
      // Whatever the shared topics hold for the stage groups is handled first: not idle yet.
      let last = -1;
      let quietSince = Date.now();
      const t0 = Date.now();
      while (Date.now() - quietSince < QUIET_MS && Date.now() - t0 < DRAIN_MAX_MS) {
        const n = handledSum(await stageStats(api));
        if (n !== last) (last = n), (quietSince = Date.now());
        await Bun.sleep(500);
      }
      out["memory.distributed.handled_before_idle"] = last;
      if (last > 0) opts.log(`  distributed: the stages first handled ${last} messages waiting on the shared topics${Date.now() - t0 >= DRAIN_MAX_MS ? " (and were still busy: the idle figure is not idle)" : ""}`);
    }
    const rss = median(await settledRss(gw.pid));
    Object.assign(out, await heaps(api, `memory.${mode}`));
    out[`memory.idle_mb.${mode === "disk" ? "embedded_disk" : mode}`] = rss;
    const threads = Object.entries(out)
      .filter(([k]) => k.includes(".heap_mb."))
      .map(([k, v]) => `${k.split(".").at(-1)} ${v}`)
      .join(", ");
    opts.log(`  ${mode} idle: RSS ${rss} MB; heaps (MB, external memory included): ${threads}`);
    return out;
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: unknown) => opts.log(`  cleanup: ${(err as Error).message}`));
  }
}
